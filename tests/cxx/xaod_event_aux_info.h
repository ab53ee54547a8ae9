// xAOD::EventAuxInfo_v1 as release 21 streams it: the same members, types and base classes as
// the streamer info of the real release-21 PHYSLITE file in tests/data, so that ROOT computes
// the same class checksums.  The classes have no ClassDef (as in Athena, whose dictionaries
// come from genreflex): ROOT treats them as "foreign" classes.  Data only, no behaviour; the
// tests write early-release-21 style files with the event info unsplit (split level 0).
#ifndef AFKIT_TEST_EVENTAUX_H
#define AFKIT_TEST_EVENTAUX_H
#include <string>
#include <utility>
#include <vector>
#include <cstdint>
class ILockable { public: virtual ~ILockable() {} };
namespace SG {
class IConstAuxStore { public: virtual ~IConstAuxStore() {} };
class IAuxStore : public IConstAuxStore { public: virtual ~IAuxStore() {} };
class IAuxStoreIO { public: virtual ~IAuxStoreIO() {} };
class IAuxStoreHolder { public: virtual ~IAuxStoreHolder() {} };
}
namespace xAOD {
class AuxInfoBase : public SG::IAuxStore, public SG::IAuxStoreIO, public SG::IAuxStoreHolder, public ILockable {
 public: virtual ~AuxInfoBase() {}
};
class EventAuxInfo_v1 : public AuxInfoBase {
 public:
  uint32_t runNumber = 0;
  unsigned long long eventNumber = 0;
  uint32_t lumiBlock = 0;
  uint32_t timeStamp = 0;
  uint32_t timeStampNSOffset = 0;
  uint32_t bcid = 0;
  uint32_t detectorMask0 = 0;
  uint32_t detectorMask1 = 0;
  uint32_t detectorMask2 = 0;
  uint32_t detectorMask3 = 0;
  std::vector<std::pair<std::string, std::string> > detDescrTags;
  uint32_t eventTypeBitmask = 0;
  uint32_t statusElement = 0;
  uint32_t extendedLevel1ID = 0;
  uint16_t level1TriggerType = 0;
  std::vector<std::string> streamTagNames;
  std::vector<std::string> streamTagTypes;
  std::vector<char> streamTagObeysLumiblock;
  float actualInteractionsPerCrossing = 0;
  float averageInteractionsPerCrossing = 0;
  uint32_t pixelFlags = 0, sctFlags = 0, trtFlags = 0, larFlags = 0, tileFlags = 0, muonFlags = 0,
           forwardDetFlags = 0, coreFlags = 0, backgroundFlags = 0, lumiFlags = 0;
  float beamPosX = 0, beamPosY = 0, beamPosZ = 0, beamPosSigmaX = 0, beamPosSigmaY = 0,
        beamPosSigmaZ = 0, beamPosSigmaXY = 0, beamTiltXZ = 0, beamTiltYZ = 0;
  uint32_t beamStatus = 0;
};
}
#ifdef __ROOTCLING__
#pragma link C++ class ILockable+;
#pragma link C++ class SG::IConstAuxStore+;
#pragma link C++ class SG::IAuxStore+;
#pragma link C++ class SG::IAuxStoreIO+;
#pragma link C++ class SG::IAuxStoreHolder+;
#pragma link C++ class xAOD::AuxInfoBase+;
#pragma link C++ class xAOD::EventAuxInfo_v1+;
#endif
#endif
