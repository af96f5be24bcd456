// A listener that vanishes mid-stream (its channel cancelled and dropped, as a client that goes
// away) leaks nothing and disturbs nobody: the server forgets its queue, and a listener that
// stays receives every packet without a gap. Labelled `sanitize`: run under ASan and LSan.
#include "tests/daemon/api/music_loopback.h"

namespace jamd::api::testing {
namespace {

TEST(ListenVanish, VanishingListenersLeakNothingAndDisturbNobody) {
  MusicLoopback server;
  auto stub = server.stub();
  grpc::ClientContext create_ctx;
  jam::v1::CreateJamResponse jam;
  ASSERT_TRUE(stub->CreateJam(&create_ctx, fast_jam(), &jam).ok());
  const jam::v1::JoinJamResponse l = join(*stub, jam.listener_token(), "stays");
  AudioListener stays(*stub, l.participant_token());
  ASSERT_TRUE(stays.read_one());
  for (int round = 0; round < 4; ++round) {
    std::vector<std::unique_ptr<jam::v1::Jam::Stub>> channels;
    std::vector<std::unique_ptr<AudioListener>> gone;
    std::vector<std::unique_ptr<grpc::ClientContext>> note_ctx;
    std::vector<std::unique_ptr<grpc::ClientReader<jam::v1::NoteEvent>>> note_readers;
    for (int i = 0; i < 4; ++i) {
      channels.push_back(server.stub());
      gone.push_back(std::make_unique<AudioListener>(*channels.back(), l.participant_token()));
      ASSERT_TRUE(gone.back()->read_one());
      note_ctx.push_back(std::make_unique<grpc::ClientContext>());
      jam::v1::ListenNotesRequest req;
      req.set_participant_token(l.participant_token());
      note_readers.push_back(channels.back()->ListenNotes(note_ctx.back().get(), req));
    }
    EXPECT_EQ(server.wait_for_listeners(5, 4), (std::pair<size_t, size_t>{5, 4}));
    stays.read_seconds(0.2);
    // Gone mid-stream: readers, contexts and channels dropped without a goodbye.
    for (auto& c : note_ctx) c->TryCancel();
    note_readers.clear();
    gone.clear();
    channels.clear();
    EXPECT_EQ(server.wait_for_listeners(1, 0), (std::pair<size_t, size_t>{1, 0}));
  }
  stays.read_seconds(0.5);
  const auto& packets = stays.packets();
  for (size_t i = 1; i < packets.size(); ++i) {
    ASSERT_EQ(packets[i].sequence(), packets[i - 1].sequence() + 1) << "the staying listener lost "
                                                                       "packets";
  }
}

}  // namespace
}  // namespace jamd::api::testing
