// SessionRegistry: tokens per role, joining, authentication, retiring tokens.
#include "daemon/session/session_registry.h"

#include <gtest/gtest.h>

#include <set>

namespace jamd {
namespace {

TEST(SessionRegistry, TokensDifferPerRoleAndPerJam) {
  SessionRegistry jams;
  const CreatedJam a = *jams.create_jam(0);
  const CreatedJam b = *jams.create_jam(0);
  const std::set<std::string> tokens = {a.host_token, a.player_token, a.listener_token,
                                        b.host_token, b.player_token, b.listener_token};
  EXPECT_EQ(tokens.size(), 6u);
  EXPECT_NE(a.jam_id, b.jam_id);
  EXPECT_GE(a.host_token.size(), 32u);  // 128 bits in hex, plus a prefix
}

TEST(SessionRegistry, JoinTokenDecidesTheRole) {
  SessionRegistry jams;
  const CreatedJam c = *jams.create_jam(0);
  EXPECT_EQ(jams.join(c.host_token, "")->participant.role, Role::kHost);
  EXPECT_EQ(jams.join(c.player_token, "")->participant.role, Role::kPlayer);
  EXPECT_EQ(jams.join(c.listener_token, "")->participant.role, Role::kListener);
}

TEST(SessionRegistry, WrongTokenIsUnauthenticated) {
  SessionRegistry jams;
  const CreatedJam c = *jams.create_jam(0);
  EXPECT_EQ(jams.join(c.player_token + "x", "").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(jams.authenticate(c.player_token).status().code(),
            absl::StatusCode::kUnauthenticated);  // a join token is not a participant token
}

TEST(SessionRegistry, LeavingRetiresTheParticipantToken) {
  SessionRegistry jams;
  const CreatedJam c = *jams.create_jam(0);
  const Joined j = *jams.join(c.player_token, "ana");
  ASSERT_TRUE(jams.authenticate(j.participant_token).ok());
  ASSERT_TRUE(jams.leave(j.participant_token).ok());
  EXPECT_EQ(jams.authenticate(j.participant_token).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(SessionRegistry, EndingRetiresTheJamAndItsTokens) {
  SessionRegistry jams;
  const CreatedJam c = *jams.create_jam(120);
  const Joined host = *jams.join(c.host_token, "");
  EXPECT_EQ(host.state.tempo_bpm, 120);
  ASSERT_TRUE(jams.end(host.participant_token).ok());
  EXPECT_EQ(jams.counts().n_jams, 0u);
  EXPECT_EQ(jams.join(c.player_token, "").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(SessionRegistry, CreateRejectsOutOfRangeTempo) {
  SessionRegistry jams;
  EXPECT_EQ(jams.create_jam(1000).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jamd
