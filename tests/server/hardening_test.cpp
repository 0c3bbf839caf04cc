// The server under abuse (issue 12): oversized headers, idle and slow clients, more photo queries
// than it admits, and the security headers on every response. A real server on a loopback port
// with small limits (2 workers, 1 photo query, 1-second timeouts) so each limit is reached quickly.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <chrono>
#include <thread>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "mystyle/core/file_io.h"
#include "mystyle/engine/recommender.h"
#include "mystyle/server/server.h"
#include "server_fixture.h"

namespace mystyle::server {
namespace {

using Clock = std::chrono::steady_clock;

class HardeningTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    recommender_ = testing::open_shared_workspace(workspace_, /*outfit_count=*/40);
    if (!recommender_) return;
    ServerOptions options;
    options.port = 0;
    options.threads = 3;
    options.max_photo_queries = 1;
    options.read_timeout_s = 1;
    options.write_timeout_s = 1;
    options.keep_alive_timeout_s = 1;
    options.max_queued_connections = 4;
    server_ = new Server(recommender_, engine::Workspace(workspace_), options);
    port_ = server_->bind();
    thread_ = new std::thread([] { server_->listen(); });
    for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      server_->stop();
      thread_->join();
    }
    delete thread_;
    delete server_;
    recommender_.reset();
  }
  void SetUp() override {
    if (server_ == nullptr) GTEST_SKIP() << "MANGO data set not found under MYSTYLE_DATASETS";
  }
  static httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(20, 0);
    return c;
  }
  /// A raw TCP connection to the server (for what httplib::Client will not send).
  static int connect_raw() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }
  static std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

  static inline const std::filesystem::path workspace_ = MYSTYLE_SERVER_TEST_WORKSPACE;
  static inline std::shared_ptr<engine::Recommender> recommender_;
  static inline Server* server_ = nullptr;
  static inline std::thread* thread_ = nullptr;
  static inline int port_ = 0;
};

// Every response, page or API or error, carries the security headers.
TEST_F(HardeningTest, SecurityHeadersOnEveryResponse) {
  for (const char* path : {"/", "/api/model", "/healthz", "/api/items/999999999", "/no/such/route"}) {
    const auto res = client().Get(path);
    ASSERT_TRUE(res) << path;
    const std::string csp = res->get_header_value("Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << path << ": " << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << path;
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(res->get_header_value("Referrer-Policy"), "no-referrer") << path;
  }
}

// A header line longer than the limit is refused, the connection closed, and the server serves on.
TEST_F(HardeningTest, OversizedHeaderIsRefused) {
  const int fd = connect_raw();
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(200 * 1024, 'a') + "\r\n\r\n";
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  const std::string answer = read_all(fd);
  ::close(fd);
  EXPECT_EQ(answer.find("HTTP/1.1 200"), std::string::npos) << answer.substr(0, 200);
  const auto res = client().Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

// Bodies the size limit cannot hold (cpp-httplib checks it against Content-Length only) are refused
// before a byte of them is read: chunked (411), unsized (411), compressed (415). A DELETE without a
// body still works.
TEST_F(HardeningTest, UnboundedBodiesAreRefusedBeforeReading) {
  struct Case {
    const char* request;
    const char* status;
  };
  const Case cases[] = {
      {"POST /api/recommend HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n", "HTTP/1.1 411"},
      {"POST /api/recommend HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\nabc", "HTTP/1.1 411"},
      {"POST /api/recommend HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Encoding: gzip\r\n\r\nabc",
       "HTTP/1.1 415"},
  };
  for (const Case& c : cases) {
    const int fd = connect_raw();
    (void)::send(fd, c.request, std::strlen(c.request), MSG_NOSIGNAL);
    const std::string answer = read_all(fd);  // until the server closes the connection
    ::close(fd);
    EXPECT_EQ(answer.rfind(c.status, 0), 0u) << c.request << " -> " << answer.substr(0, 200);
    EXPECT_NE(answer.find("\"error\""), std::string::npos) << answer;
  }
  // A bodiless DELETE (what curl -X DELETE sends) is answered, not refused or held.
  const int fd = connect_raw();
  const std::string del = "DELETE /api/items/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  (void)::send(fd, del.data(), del.size(), MSG_NOSIGNAL);
  const std::string answer = read_all(fd);
  ::close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 403", 0), 0u) << answer.substr(0, 300);  // this server has no admin token
}

// Idle and slow clients holding every worker are dropped after the read timeout: a normal request
// made meanwhile is answered within a few seconds, not held forever.
TEST_F(HardeningTest, IdleAndSlowClientsCannotHoldTheWorkers) {
  std::vector<int> idle;
  for (int i = 0; i < 6; ++i) idle.push_back(connect_raw());       // more than the 3 workers
  for (int i = 0; i < 3; ++i) (void)::send(idle[static_cast<std::size_t>(i)], "GET /he", 7, MSG_NOSIGNAL);  // slow
  const auto start = Clock::now();
  const auto res = client().Get("/healthz");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_LT(seconds, 10.0);
  for (int fd : idle) {
    // The server closed each of them (read returns 0 or an error, not a hang: the socket has a timeout).
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    EXPECT_LE(::recv(fd, &c, 1, 0), 0);
    ::close(fd);
  }
}

// More photo queries than admitted at once: the extra ones get 503 with Retry-After at once (not a
// growing wait), the admitted ones 200, and nothing else fails.
TEST_F(HardeningTest, PhotoQueriesOverTheLimitGet503WithRetryAfter) {
  // A large photo (3000 x 3000, ~30 ms to decode) so the queries surely overlap.
  cv::Mat big(3000, 3000, CV_8UC3);
  for (int y = 0; y < big.rows; ++y)
    for (int x = 0; x < big.cols; ++x) big.at<cv::Vec3b>(y, x) = cv::Vec3b(x % 256, y % 256, (x + y) % 256);
  std::vector<std::uint8_t> encoded;
  cv::imencode(".jpg", big, encoded);
  const std::string bytes(encoded.begin(), encoded.end());
  std::atomic<int> ok{0}, busy{0}, other{0};
  std::atomic<bool> retry_after{true};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 6; ++i) {
        httplib::MultipartFormDataItems form = {{"image", bytes, "g.jpg", "image/jpeg"}};
        const auto res = client().Post("/api/recommend", form);
        if (!res) {
          ++other;
        } else if (res->status == 200) {
          ++ok;
        } else if (res->status == 503) {
          ++busy;
          if (res->get_header_value("Retry-After") != "1") retry_after = false;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(busy.load(), 0) << "3 clients at once never exceeded 1 admitted query";
  EXPECT_EQ(other.load(), 0);
  EXPECT_TRUE(retry_after.load());
  // Cheap requests are never refused by the photo limit.
  const auto res = client().Get("/api/model");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

// Issue 26: with the default settings, many idle keep-alive connections (each served to the end of
// its first request and left open) hold no worker a new client needs. With a fixed pool of 16
// threads, the 41st client here waited for an idle connection to time out (60 s here).
TEST(ManyConnections, IdleKeepAliveConnectionsDoNotHoldBackNewClients) {
  const std::filesystem::path workspace = MYSTYLE_SERVER_TEST_WORKSPACE;
  auto recommender = testing::open_shared_workspace(workspace, /*outfit_count=*/40);
  if (!recommender) GTEST_SKIP() << "MANGO data set not found under MYSTYLE_DATASETS";
  ServerOptions options;  // the defaults, but for the port and idle connections kept a minute
  options.port = 0;
  options.keep_alive_timeout_s = 60;
  options.read_timeout_s = 60;
  Server server(std::move(recommender), engine::Workspace(workspace), options);
  const int port = server.bind();
  std::thread listener([&] { server.listen(); });
  for (int i = 0; i < 500 && !server.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  std::vector<int> idle;
  for (int i = 0; i < 40; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
    std::string answer;
    char buf[4096];
    while (answer.find("\"status\"") == std::string::npos) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      ASSERT_GT(n, 0);
      answer.append(buf, static_cast<std::size_t>(n));
    }
    EXPECT_NE(answer.find("HTTP/1.1 200"), std::string::npos);
    idle.push_back(fd);
  }
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(20, 0);
  const auto health = c.Get("/healthz");
  ASSERT_TRUE(health) << "a new client waited behind 40 idle keep-alive connections";
  EXPECT_EQ(health->status, 200);
  httplib::MultipartFormDataItems form = {
      {"image", read_file_bytes(testing::dataset_path("mango/images") / "2019_41085800_02.jpg"), "g.jpg", "image/jpeg"}};
  const auto photo = c.Post("/api/recommend", form);
  ASSERT_TRUE(photo);
  EXPECT_EQ(photo->status, 200) << photo->body;
  for (const int fd : idle) ::close(fd);
  server.stop();
  listener.join();
}

}  // namespace
}  // namespace mystyle::server
