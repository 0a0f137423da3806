// The connection table alone: slots, generations, in-flight counts, the
// deadline lists and clobbering, without a ring.

#include "src/connection_table.h"

#include <gtest/gtest.h>

#include <vector>

#include "uring/user_data.h"

namespace ringhttpd {
namespace {

// What the loop does with a completion: claim, then (for a CLOSE) release.
void complete_close(ConnectionTable& table, Connection& connection) {
  ASSERT_EQ(table.claim(connection.index, connection.generation), &connection);
  connection.enter(ConnectionState::aborting);
  connection.enter(ConnectionState::closing);
  table.release(connection);
}

TEST(ConnectionTable, OpensUpToTheLimit) {
  ConnectionTable table(2);
  Connection* a = table.open(10);
  Connection* b = table.open(11);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->index, b->index);
  EXPECT_EQ(a->fd, 10);
  EXPECT_EQ(a->state, ConnectionState::reading);
  EXPECT_EQ(table.open(12), nullptr);  // full
  EXPECT_EQ(table.open_count(), 2u);
  std::vector<int> fds;
  table.for_each_open([&](Connection& connection) { fds.push_back(connection.fd); });
  EXPECT_EQ(fds.size(), 2u);
}

TEST(ConnectionTable, ReleaseMovesTheGenerationOn) {
  ConnectionTable table(1);
  Connection* a = table.open(10);
  uint32_t slot = a->index;
  uint32_t generation = a->generation;
  ++a->in_flight;  // the CLOSE queued
  complete_close(table, *a);
  EXPECT_EQ(table.open_count(), 0u);
  EXPECT_EQ(a->state, ConnectionState::free);
  EXPECT_EQ(table.claim(slot, generation), nullptr);  // a free slot claims nothing

  Connection* again = table.open(20);
  ASSERT_EQ(again, a);  // the slot is reused...
  EXPECT_EQ(again->generation, (generation + 1) & uring::generation_mask);  // ...as a new generation
  ++again->in_flight;
  EXPECT_EQ(table.claim(slot, generation), nullptr);  // the old occupant's completion is stale
  EXPECT_EQ(again->in_flight, 1u);
  EXPECT_EQ(table.claim(slot, again->generation), again);
  EXPECT_EQ(again->in_flight, 0u);
  EXPECT_EQ(table.claim(9999, 0), nullptr);  // a slot never made
}

TEST(ConnectionTable, TimersExpireInDeadlineOrderPerKind) {
  ConnectionTable table(8);
  Connection* a = table.open(1);
  Connection* b = table.open(2);
  Connection* c = table.open(3);
  table.set_timer(*a, TimerKind::idle, 100);
  table.set_timer(*b, TimerKind::idle, 200);
  table.set_timer(*c, TimerKind::header, 150);
  EXPECT_EQ(table.idle_count(), 2u);
  table.set_timer(*a, TimerKind::send, 300);  // a timer replaces the one before
  EXPECT_EQ(table.idle_count(), 1u);
  std::vector<std::pair<int, TimerKind>> expired;
  auto record = [&](Connection& connection, TimerKind kind) {
    EXPECT_EQ(connection.timer.kind, TimerKind::none);  // cleared before the call
    expired.emplace_back(connection.fd, kind);
  };
  table.expire(199, record);
  EXPECT_EQ(expired, (std::vector<std::pair<int, TimerKind>>{{3, TimerKind::header}}));
  table.expire(300, record);
  EXPECT_EQ(expired.size(), 3u);
  EXPECT_EQ(expired[1], std::make_pair(2, TimerKind::idle));
  EXPECT_EQ(expired[2], std::make_pair(1, TimerKind::send));
  EXPECT_EQ(table.idle_count(), 0u);
  table.clear_timer(*a);  // clearing no timer is harmless
}

TEST(ConnectionTable, ClobberingStretchesTheLimitUntilTheCloseCompletes) {
  ConnectionTable table(2);
  Connection* owed = table.open(1);  // still owed its first response: no idle timer
  Connection* idle = table.open(2);
  EXPECT_EQ(table.longest_idle(), nullptr);
  table.set_timer(*idle, TimerKind::idle, 1000);
  table.set_timer(*owed, TimerKind::header, 1000);
  ASSERT_EQ(table.longest_idle(), idle);
  table.mark_clobbered(*idle);
  Connection* admitted = table.open(3);  // the clobbered one still holds its slot
  ASSERT_NE(admitted, nullptr);
  EXPECT_EQ(table.open_count(), 3u);
  EXPECT_EQ(table.open(4), nullptr);
  EXPECT_EQ(table.clobbered_total(), 1u);
  table.clear_timer(*idle);
  ++idle->in_flight;
  complete_close(table, *idle);
  EXPECT_EQ(table.open_count(), 2u);
  EXPECT_EQ(table.open(5), nullptr);  // back to the plain limit
}

TEST(ConnectionTable, SlotsNeverMove) {
  ConnectionTable table(5000);
  Connection* first = table.open(1);
  std::vector<Connection*> more;
  for (int i = 0; i < 3000; ++i) {
    more.push_back(table.open(100 + i));
  }
  EXPECT_EQ(first->fd, 1);  // still the same object after new chunks were made
  EXPECT_GE(table.slots_made(), 3001u);
}

TEST(ConnectionState, TransitionsFollowTheTable) {
  EXPECT_TRUE(may_follow(ConnectionState::free, ConnectionState::reading));
  EXPECT_FALSE(may_follow(ConnectionState::free, ConnectionState::sending));
  EXPECT_TRUE(may_follow(ConnectionState::sending, ConnectionState::reading));  // keep-alive
  EXPECT_FALSE(may_follow(ConnectionState::closing, ConnectionState::reading));
  EXPECT_FALSE(may_follow(ConnectionState::aborting, ConnectionState::sending));
  EXPECT_TRUE(may_follow(ConnectionState::lingering, ConnectionState::aborting));
}

#ifndef NDEBUG
// The invariants are asserted where they change: a slip fails here (and in
// every test of the sanitizer build) instead of wrapping a counter.
TEST(ConnectionTableDeathTest, InvariantsAreAsserted) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        ConnectionTable table(1);
        Connection* a = table.open(1);
        table.claim(a->index, a->generation);  // nothing was in flight
      },
      "in_flight > 0");
  EXPECT_DEATH(
      {
        ConnectionTable table(1);
        Connection* a = table.open(1);
        a->enter(ConnectionState::closing);  // reading cannot close without aborting
      },
      "may_follow");
  EXPECT_DEATH(
      {
        ConnectionTable table(1);
        Connection* a = table.open(1);
        ++a->in_flight;
        a->enter(ConnectionState::aborting);
        a->enter(ConnectionState::closing);
        table.release(*a);  // an operation is still in flight
      },
      "in_flight == 0");
}
#endif

}  // namespace
}  // namespace ringhttpd
