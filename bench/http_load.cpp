// http_load: a closed-loop HTTP load generator for `mystyle serve` (issue 26).
//
// N clients, each sending its next request as soon as the last one is answered (or timed out): photo
// uploads (POST /api/recommend, optionally /api/complete) mixed with reads (the page, item thumbnails,
// catalog pages). Keep-alive (one connection per client, reused) or a new connection per request.
// One thread and epoll, so the generator itself costs little of the machine it shares with the server.
//
// Prints requests/s, p50/p90/p99/max per kind (photo, read) of the 2xx answers, the p99 of every
// request (2xx, 503s and timeouts, a timeout counted as longer than any answer: ">2000" when the
// p99 is one), 503s (with their own p99 and whether they carried Retry-After), client timeouts,
// connection errors, and the fair-queue limit: with L requests in flight on average (N clients, less
// those waiting out a Retry-After), a fair queue answers each in L / throughput on average (Little's
// law); that mean and 3x it are printed beside the p99s.
//
// A client that gets 503 with Retry-After closes its connection and waits that long before its next
// request, as a polite client would (--ignore-retry-after: at once, as a flood would).
//
//   http_load --url http://127.0.0.1:8080 --photo FILE [--connections 64] [--duration 20] [--warmup 3]
//             [--mode keep-alive|per-request] [--photo-share 1.0] [--complete-share 0]
//             [--timeout-ms 2000] [--items N] [--ignore-retry-after] [--label TEXT] [--json FILE]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Settings {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string photo_path;
  int connections = 64;
  double duration_s = 20;
  double warmup_s = 3;
  bool keep_alive = true;
  double photo_share = 1.0;     ///< share of requests that upload a photo; the rest are reads
  double complete_share = 0.0;  ///< of the photo requests, the share sent to /api/complete
  int timeout_ms = 2000;        ///< a request unanswered after this is counted as a timeout and dropped
  int items = 0;                ///< thumbnails are read for ids 1..items (0: asked of /healthz)
  bool honour_retry_after = true;
  std::string label;
  std::string json_path;
};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "http_load: %s\n", message.c_str());
  std::exit(2);
}

enum class Kind { kPhoto, kRead };

/// What one kind of request did in the measured window.
struct Tally {
  std::vector<double> ok_ms;           ///< latency of 2xx answers
  std::vector<double> all_ms;          ///< every request's, a timeout as +infinity
  std::vector<double> busy_ms;         ///< latency of 503 answers
  std::size_t busy_without_retry_after = 0;
  std::size_t timeouts = 0;
  std::size_t connection_errors = 0;   ///< refused, reset, closed before the answer was whole
  std::map<int, std::size_t> other_status;  ///< neither 2xx nor 503
};

std::string ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", ms);
  return buf;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::ceil(p / 100.0 * double(v.size()))) - (p > 0 ? 1 : 0);
  return v[std::min(i, v.size() - 1)];
}

std::string read_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) fail("cannot read " + path);
  std::string out;
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  std::fclose(f);
  return out;
}

/// One blocking GET, for the item count before the run.
std::string blocking_get(const Settings& s, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(s.port));
  ::inet_pton(AF_INET, s.host.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("cannot connect to the server");
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) fail("send failed");
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

class Load {
 public:
  explicit Load(Settings s) : s_(std::move(s)), rng_(12345) {
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<std::uint16_t>(s_.port));
    if (::inet_pton(AF_INET, s_.host.c_str(), &addr_.sin_addr) != 1) fail("--url: an IPv4 address is expected");
    const std::string photo = read_file(s_.photo_path);
    const std::string boundary = "mystyle-http-load-7f3a91";
    const std::string body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"garment.jpg\"\r\n"
                             "Content-Type: image/jpeg\r\n\r\n" + photo + "\r\n--" + boundary + "--\r\n";
    const std::string conn = s_.keep_alive ? "" : "Connection: close\r\n";
    auto post = [&](const std::string& path) {
      return "POST " + path + " HTTP/1.1\r\nHost: " + s_.host + "\r\n" + conn +
             "Content-Type: multipart/form-data; boundary=" + boundary + "\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    };
    recommend_request_ = post("/api/recommend?k=10&outfits=9");
    complete_request_ = post("/api/complete?outfits=3");
    if (s_.items <= 0 && s_.photo_share < 1.0) {
      const std::string health = blocking_get(s_, "/healthz");
      const auto at = health.find("\"items\":");
      s_.items = at == std::string::npos ? 0 : std::atoi(health.c_str() + at + 8);
      if (s_.items <= 0) fail("could not read the item count from /healthz (use --items N)");
    }
  }

  void run() {
    epoll_ = ::epoll_create1(0);
    conns_.resize(static_cast<std::size_t>(s_.connections));
    start_ = Clock::now();
    measure_from_ = start_ + to_duration(s_.warmup_s);
    end_ = measure_from_ + to_duration(s_.duration_s);
    for (std::size_t i = 0; i < conns_.size(); ++i) start_request(i);
    std::vector<epoll_event> events(conns_.size() + 1);
    while (Clock::now() < end_) {
      const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), /*timeout_ms=*/5);
      for (int e = 0; e < n; ++e) on_event(events[static_cast<std::size_t>(e)].data.u64, events[static_cast<std::size_t>(e)].events);
      expire();
    }
    measured_s_ = s_.duration_s;
    for (auto& c : conns_) close_conn(c);
  }

  void report() {
    std::size_t answered = 0;
    for (auto& t : tally_) answered += t.ok_ms.size() + t.busy_ms.size();
    std::size_t all = answered;
    for (auto& t : tally_) {
      all += t.timeouts + t.connection_errors;
      for (auto& [status, count] : t.other_status) all += count;
    }
    const double rps = double(all) / measured_s_;
    // Little's law: the requests in flight on average, over the measured window.
    const double in_flight = busy_ms_ / 1000.0 / measured_s_;
    const double fair_ms = rps > 0 ? 1000.0 * in_flight / rps : 0;
    std::printf("%s%s: %d connections, %s, %.0f%% photos, %.0f s (after %.0f s warm-up)\n",
                s_.label.empty() ? "" : (s_.label + " | ").c_str(), s_.keep_alive ? "keep-alive" : "per-request",
                s_.connections, s_.keep_alive ? "one connection per client" : "a new connection per request",
                100 * s_.photo_share, s_.duration_s, s_.warmup_s);
    std::printf("  requests/s %.1f   in flight %.1f   fair-queue mean %.1f ms (3x %.1f ms)   clients backing off (Retry-After) %zu times\n",
                rps, in_flight, fair_ms, 3 * fair_ms, backoffs_);
    std::ostringstream json;
    json << "{\"label\":\"" << s_.label << "\",\"mode\":\"" << (s_.keep_alive ? "keep-alive" : "per-request")
         << "\",\"connections\":" << s_.connections << ",\"photo_share\":" << s_.photo_share
         << ",\"seconds\":" << measured_s_ << ",\"requests_per_s\":" << rps << ",\"in_flight\":" << in_flight
         << ",\"fair_queue_mean_ms\":" << fair_ms << ",\"backoffs\":" << backoffs_;
    for (int k = 0; k < 2; ++k) {
      Tally& t = tally_[k];
      const char* name = k == 0 ? "photo" : "read";
      std::size_t other = 0;
      for (auto& [status, count] : t.other_status) other += count;
      const std::size_t n = t.ok_ms.size() + t.busy_ms.size() + t.timeouts + t.connection_errors + other;
      if (n == 0) continue;
      const double p50 = percentile(t.ok_ms, 50), p90 = percentile(t.ok_ms, 90), p99 = percentile(t.ok_ms, 99),
                   max = t.ok_ms.empty() ? 0 : t.ok_ms.back();
      const double busy_p99 = percentile(t.busy_ms, 99);
      const double all_p99 = percentile(t.all_ms, 99);
      const std::string all_p99_text =
          std::isinf(all_p99) ? ">" + std::to_string(s_.timeout_ms) : ms_text(all_p99);
      std::printf("  %-5s %8zu  %7.1f/s  ok p50 %7.1f  p90 %7.1f  p99 %7.1f  max %7.1f ms   all p99 %s ms   503 %zu (%.2f%%, p99 %.1f ms%s)"
                  "  timeouts %zu  conn errors %zu",
                  name, n, double(n) / measured_s_, p50, p90, p99, max, all_p99_text.c_str(), t.busy_ms.size(),
                  100.0 * double(t.busy_ms.size()) / double(n), busy_p99,
                  t.busy_without_retry_after ? ", some without Retry-After" : "", t.timeouts, t.connection_errors);
      for (auto& [status, count] : t.other_status) std::printf("  %d x%zu", status, count);
      std::printf("\n");
      json << ",\"" << name << "\":{\"requests\":" << n << ",\"p50_ms\":" << p50 << ",\"p90_ms\":" << p90
           << ",\"p99_ms\":" << p99 << ",\"max_ms\":" << max
           << ",\"all_p99_ms\":" << (std::isinf(all_p99) ? -1.0 : all_p99) << ",\"busy_503\":" << t.busy_ms.size()
           << ",\"busy_503_p99_ms\":" << busy_p99 << ",\"busy_503_without_retry_after\":" << t.busy_without_retry_after
           << ",\"timeouts\":" << t.timeouts << ",\"connection_errors\":" << t.connection_errors
           << ",\"other_status\":" << other << "}";
    }
    json << "}\n";
    if (!s_.json_path.empty()) {
      std::ofstream out(s_.json_path, std::ios::app);
      out << json.str();
    }
  }

 private:
  enum class State { kIdle, kConnecting, kSending, kReading, kBackingOff };
  struct Conn {
    int fd = -1;
    State state = State::kIdle;
    Kind kind = Kind::kPhoto;
    std::string out;
    std::size_t sent = 0;
    std::string in;
    Clock::time_point started;
    Clock::time_point resume;  ///< kBackingOff: when the next request goes
    bool reused = false;
  };

  static Clock::duration to_duration(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  }

  bool counted(const Conn& c) const { return c.started >= measure_from_ && Clock::now() <= end_; }

  void close_conn(Conn& c) {
    if (c.fd >= 0) {
      ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
    }
    c.fd = -1;
    c.state = State::kIdle;
  }

  void watch(std::size_t i, std::uint32_t events, bool add) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = i;
    ::epoll_ctl(epoll_, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, conns_[i].fd, &ev);
  }

  void start_request(std::size_t i) {
    Conn& c = conns_[i];
    std::uniform_real_distribution<double> u(0, 1);
    c.kind = u(rng_) < s_.photo_share ? Kind::kPhoto : Kind::kRead;
    if (c.kind == Kind::kPhoto) {
      c.out = u(rng_) < s_.complete_share ? complete_request_ : recommend_request_;
    } else {
      const int pick = static_cast<int>(u(rng_) * 3);
      std::string path = "/";
      if (pick == 1) path = "/images/items/" + std::to_string(1 + static_cast<int>(u(rng_) * s_.items));
      if (pick == 2) path = "/api/items?page=" + std::to_string(1 + static_cast<int>(u(rng_) * 20));
      c.out = "GET " + path + " HTTP/1.1\r\nHost: " + s_.host + "\r\n" + (s_.keep_alive ? "" : "Connection: close\r\n") + "\r\n";
    }
    c.sent = 0;
    c.in.clear();
    c.started = Clock::now();
    if (c.fd >= 0) {
      c.reused = true;
      c.state = State::kSending;
      watch(i, EPOLLOUT, false);
      return;
    }
    c.reused = false;
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int r = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
    if (r != 0 && errno != EINPROGRESS) {
      connection_error(i);
      return;
    }
    c.state = State::kConnecting;
    watch(i, EPOLLOUT, true);
  }

  void connection_error(std::size_t i) {
    Conn& c = conns_[i];
    if (counted(c)) ++tally_[int(c.kind)].connection_errors;
    close_conn(c);
    start_request(i);
  }

  void on_event(std::uint64_t i, std::uint32_t events) {
    Conn& c = conns_[i];
    if (c.fd < 0) return;
    if (c.state == State::kConnecting) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return connection_error(i);
      c.state = State::kSending;
    }
    if (c.state == State::kSending && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      while (c.sent < c.out.size()) {
        const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) return connection_error(i);
        c.sent += static_cast<std::size_t>(n);
      }
      c.state = State::kReading;
      watch(i, EPOLLIN, false);
      return;
    }
    if (c.state == State::kReading) {
      char buf[65536];
      for (;;) {
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n < 0) return connection_error(i);
        if (n == 0) {
          if (!finish(i, /*eof=*/true)) connection_error(i);
          return;
        }
        c.in.append(buf, static_cast<std::size_t>(n));
        if (finish(i, /*eof=*/false)) return;
      }
    }
  }

  /// Records the answer once it is whole (true), then starts the client's next request.
  bool finish(std::size_t i, bool eof) {
    Conn& c = conns_[i];
    const auto head_end = c.in.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    const std::string_view head(c.in.data(), head_end);
    std::string lower(head);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    const std::size_t body_start = head_end + 4;
    bool whole = false;
    if (const auto at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
      whole = c.in.size() >= body_start + std::strtoull(lower.c_str() + at + 17, nullptr, 10);
    } else if (lower.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
      whole = c.in.size() >= body_start + 5 && c.in.compare(c.in.size() - 5, 5, "0\r\n\r\n") == 0;
    } else {
      whole = eof;
    }
    if (!whole) return false;
    const int status = std::atoi(c.in.c_str() + 9);  // "HTTP/1.1 200"
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - c.started).count();
    int retry_after_s = 0;
    if (counted(c)) {
      Tally& t = tally_[int(c.kind)];
      t.all_ms.push_back(ms);
      busy_ms_ += ms;
      if (status >= 200 && status < 300) {
        t.ok_ms.push_back(ms);
      } else if (status == 503) {
        t.busy_ms.push_back(ms);
        if (lower.find("\r\nretry-after:") == std::string::npos) ++t.busy_without_retry_after;
      } else {
        ++t.other_status[status];
      }
    }
    if (const auto at = lower.find("\r\nretry-after:"); status == 503 && at != std::string::npos)
      retry_after_s = std::atoi(lower.c_str() + at + 14);
    if (!s_.keep_alive || eof || lower.find("\r\nconnection: close") != std::string::npos) close_conn(c);
    if (s_.honour_retry_after && retry_after_s > 0) {
      // Waits it out, its connection closed meanwhile (the next request opens a new one).
      ++backoffs_;
      close_conn(c);
      c.state = State::kBackingOff;
      c.resume = Clock::now() + std::chrono::seconds(retry_after_s);
      return true;
    }
    start_request(i);
    return true;
  }

  void expire() {
    const auto now = Clock::now();
    const auto limit = std::chrono::milliseconds(s_.timeout_ms);
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      if (c.state == State::kBackingOff) {
        if (now >= c.resume) start_request(i);
        continue;
      }
      if (c.state == State::kIdle || now - c.started < limit) continue;
      if (counted(c)) {
        ++tally_[int(c.kind)].timeouts;
        tally_[int(c.kind)].all_ms.push_back(std::numeric_limits<double>::infinity());
        busy_ms_ += s_.timeout_ms;
      }
      close_conn(c);
      start_request(i);
    }
  }

  Settings s_;
  std::mt19937_64 rng_;
  sockaddr_in addr_{};
  std::string recommend_request_, complete_request_;
  int epoll_ = -1;
  std::vector<Conn> conns_;
  Clock::time_point start_, measure_from_, end_;
  double measured_s_ = 0;
  double busy_ms_ = 0;        ///< the latencies of every counted request, summed (timeouts at the timeout)
  std::size_t backoffs_ = 0;  ///< 503s with Retry-After waited out
  Tally tally_[2];
};

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  auto usage = [] {
    std::fputs(
        "usage: http_load --url http://127.0.0.1:PORT --photo FILE [--connections 64] [--duration 20] [--warmup 3]\n"
        "                 [--mode keep-alive|per-request] [--photo-share 1.0] [--complete-share 0]\n"
        "                 [--timeout-ms 2000] [--items N] [--ignore-retry-after] [--label TEXT] [--json FILE]\n",
        stderr);
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--ignore-retry-after") {
      s.honour_retry_after = false;
      continue;
    }
    if (i + 1 >= argc) usage();
    const std::string v = argv[++i];
    if (a == "--url") {
      const auto rest = v.substr(v.rfind("://") == std::string::npos ? 0 : v.find("://") + 3);
      const auto colon = rest.find(':');
      if (colon == std::string::npos) fail("--url: http://HOST:PORT expected");
      s.host = rest.substr(0, colon);
      s.port = std::atoi(rest.c_str() + colon + 1);
    } else if (a == "--photo") {
      s.photo_path = v;
    } else if (a == "--connections") {
      s.connections = std::atoi(v.c_str());
    } else if (a == "--duration") {
      s.duration_s = std::atof(v.c_str());
    } else if (a == "--warmup") {
      s.warmup_s = std::atof(v.c_str());
    } else if (a == "--mode") {
      if (v != "keep-alive" && v != "per-request") usage();
      s.keep_alive = v == "keep-alive";
    } else if (a == "--photo-share") {
      s.photo_share = std::atof(v.c_str());
    } else if (a == "--complete-share") {
      s.complete_share = std::atof(v.c_str());
    } else if (a == "--timeout-ms") {
      s.timeout_ms = std::atoi(v.c_str());
    } else if (a == "--items") {
      s.items = std::atoi(v.c_str());
    } else if (a == "--label") {
      s.label = v;
    } else if (a == "--json") {
      s.json_path = v;
    } else {
      usage();
    }
  }
  if (s.photo_path.empty() || s.connections < 1 || s.duration_s <= 0) usage();
  Load load(s);
  load.run();
  load.report();
}
