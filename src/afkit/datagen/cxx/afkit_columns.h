// The columns both of afkit's writers fill (afkit_tree_writer.h: TTree, afkit_ntuple_writer.h:
// RNTuple): each holds the in-memory object its branch or field is written from and the
// caller-owned arrays of the current chunk, and loads one entry's values into the object.
// ColumnSet keeps them and hands the chunk's arrays over (set_*); the writers only register
// each column's object with ROOT and fill.
#ifndef AFKIT_COLUMNS_H
#define AFKIT_COLUMNS_H

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "afkit_physlite_types.h"

namespace afkit {

struct Column {
  virtual ~Column() {}
  virtual void load(long entry) = 0;
  virtual bool ready() const = 0;
};

template <class T>
struct ScalarColumn : Column {
  std::shared_ptr<T> value = std::make_shared<T>();
  const T* data = nullptr;
  void load(long e) override { *value = data[e]; }
  bool ready() const override { return data != nullptr; }
};

template <class T>
struct VectorColumn : Column {
  std::shared_ptr<std::vector<T>> value = std::make_shared<std::vector<T>>();
  const T* data = nullptr;
  const long* offsets = nullptr;
  void load(long e) override { value->assign(data + offsets[e], data + offsets[e + 1]); }
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
  std::shared_ptr<std::vector<LINK>> value = std::make_shared<std::vector<LINK>>();
  void load(long e) override {
    const long a = offsets[e], n = offsets[e + 1] - a;
    value->resize(n);
    for (long i = 0; i < n; ++i) {
      (*value)[i].m_persKey = keys[a + i];
      (*value)[i].m_persIndex = indices[a + i];
    }
  }
};

// A data-free object (interface containers): written as it is, nothing to load.
template <class OBJ>
struct InterfaceColumn : Column {
  std::shared_ptr<OBJ> value = std::make_shared<OBJ>();
  OBJ* address = value.get();  // for TTree::Branch, which takes the object's address
  void load(long) override {}
  bool ready() const override { return true; }
};

class ColumnSet {
 public:
  virtual ~ColumnSet() {}

#define AFKIT_SET(NAME, T)                                                              \
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
  AFKIT_SET(float32, float)
  AFKIT_SET(float64, double)
  AFKIT_SET(int8, char)
  AFKIT_SET(uint8, unsigned char)
  AFKIT_SET(int16, short)
  AFKIT_SET(uint16, unsigned short)
  AFKIT_SET(int32, int)
  AFKIT_SET(uint32, unsigned int)
  AFKIT_SET(int64, Long64_t)
  AFKIT_SET(uint64, ULong64_t)
#undef AFKIT_SET

  void set_link(int i, const unsigned int* keys, const unsigned int* indices, const long* offsets) {
    auto* c = dynamic_cast<LinkColumnBase*>(columns_.at(i).get());
    if (!c) throw std::invalid_argument("column is not a link column");
    c->keys = keys;
    c->indices = indices;
    c->offsets = offsets;
  }

 protected:
  int keep(Column* c) {
    if (frozen_) throw std::logic_error("columns must be added before the first fill");
    columns_.emplace_back(c);
    return static_cast<int>(columns_.size()) - 1;
  }
  void check_ready() const {
    for (auto& c : columns_)
      if (!c->ready()) throw std::runtime_error("a column has no data for this chunk");
  }
  void load(long entry) {
    for (auto& c : columns_) c->load(entry);
  }
  bool frozen_ = false;
  std::vector<std::unique_ptr<Column>> columns_;
};

}  // namespace afkit

#endif
