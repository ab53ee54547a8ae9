// Stand-ins for the xAOD types that name PHYSLITE's branches, so that ROOT writes branches with
// the same classes and the same split layout as Athena: interface branches (DataVector<xAOD::X_v1>,
// no data of their own) and vector<ElementLink<DataVector<xAOD::X_v1>>> split into
// m_persKey / m_persIndex sub-branches of class ElementLinkBase.  They carry no behaviour.
#ifndef AFKIT_PHYSLITE_TYPES_H
#define AFKIT_PHYSLITE_TYPES_H

#include <string>
#include <vector>

namespace xAOD {
struct Electron_v1 {};
struct Muon_v1 {};
struct Jet_v1 {};
struct Photon_v1 {};
struct TauJet_v3 {};
struct BTagging_v1 {};
struct TrackParticle_v1 {};
struct CaloCluster_v1 {};
struct TruthParticle_v1 {};
struct Vertex_v1 {};
struct MissingET_v1 {};
class EventInfo_v1 {
 public:
  virtual ~EventInfo_v1() {}
};
class MissingETContainer_v1 {
 public:
  virtual ~MissingETContainer_v1() {}
};
}  // namespace xAOD

template <class T>
class DataVector {
 public:
  virtual ~DataVector() {}
};

class ElementLinkBase {
 public:
  unsigned int m_persKey = 0;
  unsigned int m_persIndex = 0;
};

template <class STORABLE>
class ElementLink : public ElementLinkBase {};

#ifdef __ROOTCLING__
#pragma link C++ class std::vector<std::vector<std::string> >+;  // TruthMetaData.weightNames
#pragma link C++ class ElementLinkBase+;
#pragma link C++ class xAOD::EventInfo_v1+;
#pragma link C++ class xAOD::MissingETContainer_v1+;
#pragma link C++ class DataVector<xAOD::Electron_v1>+;
#pragma link C++ class ElementLink<DataVector<xAOD::Electron_v1> >+;
#pragma link C++ class std::vector<ElementLink<DataVector<xAOD::Electron_v1> > >+;
#pragma link C++ class DataVector<xAOD::Muon_v1>+;
#pragma link C++ class ElementLink<DataVector<xAOD::Muon_v1> >+;
#pragma link C++ class std::vector<ElementLink<DataVector<xAOD::Muon_v1> > >+;
#pragma link C++ class DataVector<xAOD::Jet_v1>+;
#pragma link C++ class ElementLink<DataVector<xAOD::Jet_v1> >+;
#pragma link C++ class std::vector<ElementLink<DataVector<xAOD::Jet_v1> > >+;
#pragma link C++ class DataVector<xAOD::Photon_v1>+;
#pragma link C++ class ElementLink<DataVector<xAOD::Photon_v1> >+;
#pragma link C++ class std::vector<ElementLink<DataVector<xAOD::Photon_v1> > >+;
#pragma link C++ class DataVector<xAOD::TauJet_v3>+;
#pragma link C++ class ElementLink<DataVector<xAOD::TauJet_v3> >+;
#pragma link C++ class std::vector<ElementLink<DataVector<xAOD::TauJet_v3> > >+;
#pragma link C++ class DataVector<xAOD::BTagging_v1>+;
#pragma link C++ class ElementLink<DataVector<xAOD::BTagging_v1> >+;
#pragma link C++ class std::vector<ElementLink<DataVector<xAOD::BTagging_v1> > >+;
#pragma link C++ class DataVector<xAOD::TrackParticle_v1>+;
#pragma link C++ class ElementLink<DataVector<xAOD::TrackParticle_v1> >+;
#pragma link C++ class std::vector<ElementLink<DataVector<xAOD::TrackParticle_v1> > >+;
#pragma link C++ class DataVector<xAOD::CaloCluster_v1>+;
#pragma link C++ class ElementLink<DataVector<xAOD::CaloCluster_v1> >+;
#pragma link C++ class std::vector<ElementLink<DataVector<xAOD::CaloCluster_v1> > >+;
#pragma link C++ class DataVector<xAOD::TruthParticle_v1>+;
#pragma link C++ class ElementLink<DataVector<xAOD::TruthParticle_v1> >+;
#pragma link C++ class std::vector<ElementLink<DataVector<xAOD::TruthParticle_v1> > >+;
#pragma link C++ class DataVector<xAOD::Vertex_v1>+;
#pragma link C++ class ElementLink<DataVector<xAOD::Vertex_v1> >+;
#pragma link C++ class std::vector<ElementLink<DataVector<xAOD::Vertex_v1> > >+;
#endif

#endif
