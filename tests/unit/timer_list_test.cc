#include "src/timer_list.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringhttpd {
namespace {

struct Fixture {
  std::vector<TimerLink> links = std::vector<TimerLink>(8);
  TimerList list;
  TimerLink& link(uint32_t i) { return links[i]; }
  std::vector<uint32_t> order() {
    std::vector<uint32_t> result;
    for (uint32_t i = list.head; i != no_slot; i = links[i].next) {
      result.push_back(i);
    }
    return result;
  }
};

TEST(TimerList, AppendAndUnlinkAnywhere) {
  Fixture f;
  auto link_of = [&](uint32_t i) -> TimerLink& { return f.link(i); };
  for (uint32_t i : {3u, 1u, 5u, 0u}) {
    timer_append(f.list, TimerKind::idle, i, 100 + i, link_of);
  }
  EXPECT_EQ(f.order(), (std::vector<uint32_t>{3, 1, 5, 0}));
  timer_unlink(f.list, 5, link_of);  // middle
  EXPECT_EQ(f.order(), (std::vector<uint32_t>{3, 1, 0}));
  timer_unlink(f.list, 3, link_of);  // head
  timer_unlink(f.list, 0, link_of);  // tail
  EXPECT_EQ(f.order(), (std::vector<uint32_t>{1}));
  EXPECT_EQ(f.list.tail, 1u);
  timer_unlink(f.list, 1, link_of);
  EXPECT_EQ(f.list.head, no_slot);
  EXPECT_EQ(f.list.tail, no_slot);
  EXPECT_EQ(f.links[1].kind, TimerKind::none);
}

}  // namespace
}  // namespace ringhttpd
