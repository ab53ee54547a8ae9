// afkit's RNTuple writer core: the same interface as TreeWriter (afkit_tree_writer.h), writing
// the event data as an RNTuple in the layout Athena 25 uses for DAOD_PHYSLITE: the RNTuple
// "EventData", top-level fields named like the TTree branches with ':' for '.', vectors as
// std::vector<T>, ElementLinks as records (ElementLink -> ElementLinkBase{m_persKey, m_persIndex}),
// interface containers as data-free records.  Values are copied from caller-owned arrays in C++
// by the columns shared with the TTree writer (afkit_columns.h).
#ifndef AFKIT_NTUPLE_WRITER_H
#define AFKIT_NTUPLE_WRITER_H

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <ROOT/RNTupleModel.hxx>
#include <ROOT/RNTupleWriteOptions.hxx>
#include <ROOT/RNTupleWriter.hxx>

#include "TFile.h"
#include "afkit_columns.h"
#include "afkit_physlite_types.h"

namespace afkit {

inline std::string field_name(const char* branch) {
  std::string name(branch);
  for (auto& c : name)
    if (c == '.') c = ':';
  return name;
}

class NTupleWriter : public ColumnSet {
 public:
  NTupleWriter(const char* path, const char* ntuple_name, int compression, long cluster_bytes)
      : name_(ntuple_name), compression_(compression), cluster_bytes_(cluster_bytes) {
    file_ = TFile::Open(path, "RECREATE", "", compression);
    if (!file_ || file_->IsZombie()) throw std::runtime_error(std::string("cannot create ") + path);
    model_ = ROOT::RNTupleModel::Create();
  }
  ~NTupleWriter() { close(); }

#define AFKIT_NTYPED(NAME, T)                                                           \
  int add_scalar_##NAME(const char* name) {                                            \
    auto* c = new ScalarColumn<T>();                                                    \
    c->value = model_->MakeField<T>(field_name(name));                                  \
    return keep(c);                                                                     \
  }                                                                                     \
  int add_vector_##NAME(const char* name) {                                            \
    auto* c = new VectorColumn<T>();                                                    \
    c->value = model_->MakeField<std::vector<T>>(field_name(name));                     \
    return keep(c);                                                                     \
  }
  AFKIT_NTYPED(float32, float)
  AFKIT_NTYPED(float64, double)
  AFKIT_NTYPED(int8, char)
  AFKIT_NTYPED(uint8, unsigned char)
  AFKIT_NTYPED(int16, short)
  AFKIT_NTYPED(uint16, unsigned short)
  AFKIT_NTYPED(int32, int)
  AFKIT_NTYPED(uint32, unsigned int)
  AFKIT_NTYPED(int64, Long64_t)
  AFKIT_NTYPED(uint64, ULong64_t)
#undef AFKIT_NTYPED

  int add_link(const char* name, const char* target) {
    const std::string t(target);
#define AFKIT_NLINK(X)                                                                  \
  if (t == #X) {                                                                        \
    auto* c = new LinkColumn<ElementLink<DataVector<xAOD::X>>>();                       \
    c->value = model_->MakeField<std::vector<ElementLink<DataVector<xAOD::X>>>>(       \
        field_name(name));                                                              \
    return keep(c);                                                                     \
  }
    AFKIT_NLINK(Electron_v1) AFKIT_NLINK(Muon_v1) AFKIT_NLINK(Jet_v1) AFKIT_NLINK(Photon_v1)
    AFKIT_NLINK(TauJet_v3) AFKIT_NLINK(BTagging_v1) AFKIT_NLINK(TrackParticle_v1)
    AFKIT_NLINK(CaloCluster_v1) AFKIT_NLINK(TruthParticle_v1) AFKIT_NLINK(Vertex_v1)
#undef AFKIT_NLINK
    throw std::invalid_argument("no ElementLink stand-in for " + t);
  }
  int add_interface(const char* name, const char* cls) {
    const std::string t(cls);
#define AFKIT_NIFACE(X)                                                                 \
  if (t == "DataVector<xAOD::" #X ">") {                                                \
    auto* c = new InterfaceColumn<DataVector<xAOD::X>>();                               \
    c->value = model_->MakeField<DataVector<xAOD::X>>(field_name(name));                \
    return keep(c);                                                                     \
  }
    AFKIT_NIFACE(Electron_v1) AFKIT_NIFACE(Muon_v1) AFKIT_NIFACE(Jet_v1) AFKIT_NIFACE(Photon_v1)
    AFKIT_NIFACE(TauJet_v3) AFKIT_NIFACE(BTagging_v1) AFKIT_NIFACE(TrackParticle_v1)
    AFKIT_NIFACE(CaloCluster_v1) AFKIT_NIFACE(TruthParticle_v1) AFKIT_NIFACE(Vertex_v1)
#undef AFKIT_NIFACE
    if (t == "xAOD::EventInfo_v1") {
      auto* c = new InterfaceColumn<xAOD::EventInfo_v1>();
      c->value = model_->MakeField<xAOD::EventInfo_v1>(field_name(name));
      return keep(c);
    }
    if (t == "xAOD::MissingETContainer_v1") {
      auto* c = new InterfaceColumn<xAOD::MissingETContainer_v1>();
      c->value = model_->MakeField<xAOD::MissingETContainer_v1>(field_name(name));
      return keep(c);
    }
    throw std::invalid_argument("no interface stand-in for " + t);
  }

  // Write n entries from the arrays set for this chunk; returns the entries written so far.
  long fill(long n) {
    check_ready();
    if (!writer_) start();
    for (long e = 0; e < n; ++e) {
      load(e);
      writer_->Fill();
    }
    entries_ += n;
    return entries_;
  }

  void close() {
    if (!file_) return;
    if (!writer_) start();  // an empty RNTuple still has its schema
    writer_.reset();        // commits the last cluster, the page lists and the footer
    file_->Close();
    delete file_;
    file_ = nullptr;
  }

 private:
  void start() {
    ROOT::RNTupleWriteOptions options;
    options.SetCompression(compression_);
    if (cluster_bytes_ > 0) options.SetApproxZippedClusterSize(cluster_bytes_);
    writer_ = ROOT::RNTupleWriter::Append(std::move(model_), name_, *file_, options);
    frozen_ = true;  // the model is the writer's now: no more fields
  }
  std::string name_;
  int compression_;
  long cluster_bytes_;
  long entries_ = 0;
  TFile* file_ = nullptr;
  std::unique_ptr<ROOT::RNTupleModel> model_;
  std::unique_ptr<ROOT::RNTupleWriter> writer_;
};

}  // namespace afkit

#endif
