// afkit's TTree writer core: columns filled from caller-owned arrays, one entry at a time in C++.
// Python hands over NumPy buffers for a chunk of events, then calls fill(n).
#ifndef AFKIT_TREE_WRITER_H
#define AFKIT_TREE_WRITER_H

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "TFile.h"
#include "TTree.h"
#include "afkit_physlite_types.h"

namespace afkit {

struct Column {
  virtual ~Column() {}
  virtual void load(long entry) = 0;
  virtual bool ready() const = 0;
};

template <class T>
struct ScalarColumn : Column {
  T value{};
  const T* data = nullptr;
  void load(long e) override { value = data[e]; }
  bool ready() const override { return data != nullptr; }
};

template <class T>
struct VectorColumn : Column {
  std::vector<T> value;
  const T* data = nullptr;
  const long* offsets = nullptr;
  void load(long e) override { value.assign(data + offsets[e], data + offsets[e + 1]); }
  bool ready() const override { return data != nullptr && offsets != nullptr; }
};

struct LinkColumnBase : Column {
  const unsigned int* keys = nullptr;
  const unsigned int* indices = nullptr;
  const long* offsets = nullptr;
  bool ready() const override { return keys && indices && offsets; }
};

template <class LINK>
struct LinkColumn : LinkColumnBase {
  std::vector<LINK> value;
  void load(long e) override {
    const long a = offsets[e], n = offsets[e + 1] - a;
    value.resize(n);
    for (long i = 0; i < n; ++i) {
      value[i].m_persKey = keys[a + i];
      value[i].m_persIndex = indices[a + i];
    }
  }
};

template <class OBJ>
struct InterfaceColumn : Column {
  OBJ* value = new OBJ();
  ~InterfaceColumn() override { delete value; }
  void load(long) override {}
  bool ready() const override { return true; }
};

class TreeWriter {
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
    tree_->Branch(name, &c->value);                                                     \
    return keep(c);                                                                     \
  }                                                                                     \
  int add_vector_##NAME(const char* name) {                                            \
    auto* c = new VectorColumn<T>();                                                    \
    tree_->Branch(name, &c->value);                                                     \
    return keep(c);                                                                     \
  }                                                                                     \
  void set_scalar_##NAME(int i, const void* data) {                                    \
    auto* c = dynamic_cast<ScalarColumn<T>*>(columns_.at(i).get());                     \
    if (!c) throw std::invalid_argument("column is not a " #NAME " scalar");           \
    c->data = static_cast<const T*>(data);                                              \
  }                                                                                     \
  void set_vector_##NAME(int i, const void* data, const long* offsets) {               \
    auto* c = dynamic_cast<VectorColumn<T>*>(columns_.at(i).get());                     \
    if (!c) throw std::invalid_argument("column is not a " #NAME " vector");           \
    c->data = static_cast<const T*>(data);                                              \
    c->offsets = offsets;                                                               \
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
    tree_->Branch(name, &c->value, 32000, 99);                                          \
    return keep(c);                                                                     \
  }
    AFKIT_LINK(Electron_v1) AFKIT_LINK(Muon_v1) AFKIT_LINK(Jet_v1) AFKIT_LINK(Photon_v1)
    AFKIT_LINK(TauJet_v3) AFKIT_LINK(BTagging_v1) AFKIT_LINK(TrackParticle_v1)
    AFKIT_LINK(CaloCluster_v1) AFKIT_LINK(TruthParticle_v1) AFKIT_LINK(Vertex_v1)
#undef AFKIT_LINK
    throw std::invalid_argument("no ElementLink stand-in for " + t);
  }
  void set_link(int i, const unsigned int* keys, const unsigned int* indices, const long* offsets) {
    auto* c = dynamic_cast<LinkColumnBase*>(columns_.at(i).get());
    if (!c) throw std::invalid_argument("column is not a link column");
    c->keys = keys;
    c->indices = indices;
    c->offsets = offsets;
  }

  int add_interface(const char* name, const char* cls) {
    const std::string t(cls);
#define AFKIT_IFACE(X)                                                                  \
  if (t == "DataVector<xAOD::" #X ">") {                                                \
    auto* c = new InterfaceColumn<DataVector<xAOD::X>>();                               \
    tree_->Branch(name, &c->value, 32000, 0);                                           \
    return keep(c);                                                                     \
  }
    AFKIT_IFACE(Electron_v1) AFKIT_IFACE(Muon_v1) AFKIT_IFACE(Jet_v1) AFKIT_IFACE(Photon_v1)
    AFKIT_IFACE(TauJet_v3) AFKIT_IFACE(BTagging_v1) AFKIT_IFACE(TrackParticle_v1)
    AFKIT_IFACE(CaloCluster_v1) AFKIT_IFACE(TruthParticle_v1) AFKIT_IFACE(Vertex_v1)
#undef AFKIT_IFACE
    if (t == "xAOD::EventInfo_v1") {
      auto* c = new InterfaceColumn<xAOD::EventInfo_v1>();
      tree_->Branch(name, &c->value, 32000, 0);
      return keep(c);
    }
    if (t == "xAOD::MissingETContainer_v1") {
      auto* c = new InterfaceColumn<xAOD::MissingETContainer_v1>();
      tree_->Branch(name, &c->value, 32000, 0);
      return keep(c);
    }
    throw std::invalid_argument("no interface stand-in for " + t);
  }

  // Write n entries from the arrays set for this chunk; returns the entries written so far.
  long fill(long n) {
    for (auto& c : columns_)
      if (!c->ready()) throw std::runtime_error("a column has no data for this chunk");
    for (long e = 0; e < n; ++e) {
      for (auto& c : columns_) c->load(e);
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
  int keep(Column* c) {
    columns_.emplace_back(c);
    return static_cast<int>(columns_.size()) - 1;
  }
  TFile* file_ = nullptr;
  TTree* tree_ = nullptr;
  std::vector<std::unique_ptr<Column>> columns_;
};

}  // namespace afkit

#endif
