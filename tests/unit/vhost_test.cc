#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "conf/vhost_table.h"

namespace ringhttpd {
namespace {

std::string directory(std::string_view host) {
  char buffer[254];
  return std::string(host_directory(host, buffer));
}

TEST(Vhosts, HostToDirectory) {
  EXPECT_EQ(directory("Example.COM"), "example.com");
  EXPECT_EQ(directory("example.com:8080"), "example.com");
  EXPECT_EQ(directory("example.com."), "example.com");
  EXPECT_EQ(directory("127.0.0.1:80"), "127.0.0.1");
  EXPECT_EQ(directory("my_host-1"), "my_host-1");
  for (std::string_view bad : {"", "[::1]:80", "..", ".hidden", "a..b", "-x", "a/b", "a b", "a%2fb"}) {
    EXPECT_EQ(directory(bad), "") << bad;
  }
  EXPECT_EQ(directory(std::string(254, 'a')), "");
}

TEST(Vhosts, TableListsDirectoriesAndVersionsChanges) {
  std::filesystem::path root = std::filesystem::temp_directory_path() / "ringhttpd-vhosts-test";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "a.example");
  std::filesystem::create_directories(root / "_default");
  { std::ofstream(root / "not-a-dir.txt") << "x"; }
  VhostTable table;
  int root_fd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  table.rescan(root_fd);
  uint64_t first = table.version();
  HostSet hosts = table.snapshot();
  EXPECT_EQ(hosts, (HostSet{"a.example", "_default"}));
  table.rescan(root_fd);
  EXPECT_EQ(table.version(), first);  // unchanged: same version
  std::filesystem::create_directories(root / "b.example");
  table.rescan(root_fd);
  EXPECT_GT(table.version(), first);
  EXPECT_TRUE(table.snapshot().contains("b.example"));
  close(root_fd);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace ringhttpd
