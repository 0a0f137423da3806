// The completion kinds and the opcodes start-up and --check probe.

#include "src/op.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace ringhttpd {
namespace {

TEST(Ops, EveryKindNamesAnOpcodeThatIsProbed) {
  std::vector<int> probed = required_opcodes();
  EXPECT_EQ(std::set<int>(probed.begin(), probed.end()).size(), probed.size());  // each once
  for (uint8_t kind = 0; kind < static_cast<uint8_t>(Op::count); ++kind) {
    int opcode = op_info(static_cast<Op>(kind)).opcode;
    EXPECT_GE(opcode, 0) << int(kind);
    EXPECT_NE(std::find(probed.begin(), probed.end(), opcode), probed.end()) << int(kind);
  }
  // The three a plain file request can need beyond the obvious ones.
  for (int opcode : {IORING_OP_SENDMSG, IORING_OP_READ, IORING_OP_WRITE}) {
    EXPECT_NE(std::find(probed.begin(), probed.end(), opcode), probed.end()) << opcode;
  }
  uring::Ring ring;
  ring.require_opcodes(probed);  // this kernel has them all
}

TEST(Ops, TagsCountInFlightPerConnection) {
  uring::Ring ring;
  OpQueue ops(ring);
  Connection connection;
  connection.index = 7;
  connection.generation = 3;
  io_uring_sqe* sqe = ops.queue(connection, Op::recv);
  EXPECT_EQ(connection.in_flight, 1u);
  uring::Tag tag = uring::decode(sqe->user_data);
  EXPECT_EQ(tag.op, static_cast<uint8_t>(Op::recv));
  EXPECT_EQ(tag.slot, 7u);
  EXPECT_EQ(tag.generation, 3u);
  io_uring_prep_nop(sqe);
  io_uring_prep_nop(ops.queue_detached(Op::tick));
  io_uring_submit(ring.raw());
}

}  // namespace
}  // namespace ringhttpd
