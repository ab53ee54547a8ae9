// The MetaData tree of a generated file, as Athena records it for real PHYSLITE: one entry
// with the CutBookkeepers of the file's input (AllExecutedEvents: every generated event, as
// no skim is applied), one container per generator weight (CutBookkeepers_weight_i), and the
// generator-weight names (TruthMetaData.weightNames).  Branches carry the names and types of
// the split xAOD containers' members (CutBookkeepersAux.sumOfEventWeights, ...).
#ifndef AFKIT_METADATA_WRITER_H
#define AFKIT_METADATA_WRITER_H

#include <stdexcept>
#include <string>
#include <vector>

#include "TFile.h"
#include "TTree.h"

namespace afkit {

struct BookkeeperBranches {
  std::vector<std::string> name, description, inputStream;
  std::vector<int> cycle;
  std::vector<unsigned int> nameIdentifier, uniqueIdentifier;
  std::vector<ULong64_t> nAcceptedEvents;
  std::vector<double> sumOfEventWeights, sumOfEventWeightsSquared;
  void attach(TTree& tree, const std::string& container) {
    const std::string p = container + "Aux.";
    tree.Branch((p + "name").c_str(), &name);
    tree.Branch((p + "description").c_str(), &description);
    tree.Branch((p + "inputStream").c_str(), &inputStream);
    tree.Branch((p + "cycle").c_str(), &cycle);
    tree.Branch((p + "nameIdentifier").c_str(), &nameIdentifier);
    tree.Branch((p + "uniqueIdentifier").c_str(), &uniqueIdentifier);
    tree.Branch((p + "nAcceptedEvents").c_str(), &nAcceptedEvents);
    tree.Branch((p + "sumOfEventWeights").c_str(), &sumOfEventWeights);
    tree.Branch((p + "sumOfEventWeightsSquared").c_str(), &sumOfEventWeightsSquared);
  }
};

// Append the MetaData tree to the file at ``path``: ``n_weights`` generator weights with their
// sums (``sums[i]``, ``squares[i]``) over ``events`` events, named ``names`` (``;``-separated;
// empty for data, which has no generator weights: one CutBookkeepers with the event count).
inline void write_metadata(const char* path, long events, int n_weights, const double* sums,
                           const double* squares, const char* names) {
  TFile file(path, "UPDATE");
  if (file.IsZombie()) throw std::runtime_error(std::string("cannot update ") + path);
  TTree tree("MetaData", "");
  const int containers = n_weights > 0 ? n_weights : 1;
  std::vector<BookkeeperBranches> books(containers);
  for (int i = 0; i < containers; ++i) {
    auto& b = books[i];
    b.attach(tree, i == 0 ? std::string("CutBookkeepers")
                          : "CutBookkeepers_weight_" + std::to_string(i));
    b.name = {"AllExecutedEvents"};
    b.description = {"Number of processed events before any cut"};
    b.inputStream = {"StreamAOD"};
    b.cycle = {0};
    b.nameIdentifier = {4258295465u};
    b.uniqueIdentifier = {static_cast<unsigned int>(1000 + i)};
    b.nAcceptedEvents = {static_cast<ULong64_t>(events)};
    b.sumOfEventWeights = {n_weights > 0 ? sums[i] : static_cast<double>(events)};
    b.sumOfEventWeightsSquared = {n_weights > 0 ? squares[i] : static_cast<double>(events)};
  }
  std::vector<std::vector<std::string>> weight_names;
  if (n_weights > 0) {
    std::vector<std::string> list;
    std::string all(names), item;
    for (char c : all) {
      if (c == ';') { list.push_back(item); item.clear(); } else { item += c; }
    }
    list.push_back(item);
    weight_names.push_back(list);
  }
  tree.Branch("TruthMetaDataAux.weightNames", &weight_names);
  tree.Fill();
  tree.Write();
  file.Close();
}

}  // namespace afkit

#endif
