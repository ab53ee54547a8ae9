// afkit's TTree writer core: branches filled from caller-owned arrays, one entry at a time in
// C++ (the columns, shared with the RNTuple writer, are in afkit_columns.h).  Python hands over
// NumPy buffers for a chunk of events (set_*), then calls fill(n).
#ifndef AFKIT_TREE_WRITER_H
#define AFKIT_TREE_WRITER_H

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "TFile.h"
#include "TTree.h"
#include "afkit_columns.h"
#include "afkit_physlite_types.h"

namespace afkit {

class TreeWriter : public ColumnSet {
 public:
  TreeWriter(const char* path, const char* tree_name, int compression, long auto_flush) {
    file_ = TFile::Open(path, "RECREATE", "", compression);
    if (!file_ || file_->IsZombie()) throw std::runtime_error(std::string("cannot create ") + path);
    tree_ = new TTree(tree_name, "");
    tree_->SetDirectory(file_);
    tree_->SetAutoFlush(auto_flush);
  }
  ~TreeWriter() { close(); }

#define AFKIT_TYPED(NAME, T)                                                            \
  int add_scalar_##NAME(const char* name) {                                            \
    auto* c = new ScalarColumn<T>();                                                    \
    tree_->Branch(name, c->value.get());                                                \
    return keep(c);                                                                     \
  }                                                                                     \
  int add_vector_##NAME(const char* name) {                                            \
    auto* c = new VectorColumn<T>();                                                    \
    tree_->Branch(name, c->value.get());                                                \
    return keep(c);                                                                     \
  }
  AFKIT_TYPED(float32, float)
  AFKIT_TYPED(float64, double)
  AFKIT_TYPED(int8, char)
  AFKIT_TYPED(uint8, unsigned char)
  AFKIT_TYPED(int16, short)
  AFKIT_TYPED(uint16, unsigned short)
  AFKIT_TYPED(int32, int)
  AFKIT_TYPED(uint32, unsigned int)
  AFKIT_TYPED(int64, Long64_t)
  AFKIT_TYPED(uint64, ULong64_t)
#undef AFKIT_TYPED

  int add_link(const char* name, const char* target) {
    const std::string t(target);
#define AFKIT_LINK(X)                                                                   \
  if (t == #X) {                                                                        \
    auto* c = new LinkColumn<ElementLink<DataVector<xAOD::X>>>();                       \
    tree_->Branch(name, c->value.get(), 32000, 99);                                     \
    return keep(c);                                                                     \
  }
    AFKIT_LINK(Electron_v1) AFKIT_LINK(Muon_v1) AFKIT_LINK(Jet_v1) AFKIT_LINK(Photon_v1)
    AFKIT_LINK(TauJet_v3) AFKIT_LINK(BTagging_v1) AFKIT_LINK(TrackParticle_v1)
    AFKIT_LINK(CaloCluster_v1) AFKIT_LINK(TruthParticle_v1) AFKIT_LINK(Vertex_v1)
#undef AFKIT_LINK
    throw std::invalid_argument("no ElementLink stand-in for " + t);
  }
  int add_interface(const char* name, const char* cls) {
    const std::string t(cls);
#define AFKIT_IFACE(X)                                                                  \
  if (t == "DataVector<xAOD::" #X ">") {                                                \
    auto* c = new InterfaceColumn<DataVector<xAOD::X>>();                               \
    tree_->Branch(name, &c->address, 32000, 0);                                         \
    return keep(c);                                                                     \
  }
    AFKIT_IFACE(Electron_v1) AFKIT_IFACE(Muon_v1) AFKIT_IFACE(Jet_v1) AFKIT_IFACE(Photon_v1)
    AFKIT_IFACE(TauJet_v3) AFKIT_IFACE(BTagging_v1) AFKIT_IFACE(TrackParticle_v1)
    AFKIT_IFACE(CaloCluster_v1) AFKIT_IFACE(TruthParticle_v1) AFKIT_IFACE(Vertex_v1)
#undef AFKIT_IFACE
    if (t == "xAOD::EventInfo_v1") {
      auto* c = new InterfaceColumn<xAOD::EventInfo_v1>();
      tree_->Branch(name, &c->address, 32000, 0);
      return keep(c);
    }
    if (t == "xAOD::MissingETContainer_v1") {
      auto* c = new InterfaceColumn<xAOD::MissingETContainer_v1>();
      tree_->Branch(name, &c->address, 32000, 0);
      return keep(c);
    }
    throw std::invalid_argument("no interface stand-in for " + t);
  }

  // Write n entries from the arrays set for this chunk; returns the entries written so far.
  long fill(long n) {
    check_ready();
    for (long e = 0; e < n; ++e) {
      load(e);
      tree_->Fill();
    }
    return tree_->GetEntries();
  }

  void close() {
    if (!file_) return;
    file_->cd();
    tree_->Write("", TObject::kOverwrite);
    file_->Close();
    delete file_;
    file_ = nullptr;
  }

 private:
  TFile* file_ = nullptr;
  TTree* tree_ = nullptr;
};

}  // namespace afkit

#endif
