// hotlined as a child process of the crash test: started on loopback ports chosen by the OS with
// a database in the run's directory, killed with SIGKILL or stopped with SIGTERM, and what it
// says about itself picked out of its log (the ready line, the state digests, the recovery
// line).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/crash/support.h"

namespace hotline::crash {

// What hotlined logged about one of its runs (one Start to its exit).
struct RunLog {
  std::string grpc_address;      // From "hotlined ready: grpc=HOST:PORT ...".
  std::string recovered_digest;  // "state digest after recovery: <hex>"
  std::string shutdown_digest;   // "state digest at shutdown: <hex>" (SIGTERM only)
  std::string recovery;          // "recovered N waiting or live calls ... journal records"
  // Lines logged at error or critical level (the first few).
  std::vector<std::string> errors;
};

// Its stdout and stderr go, through a pipe drained by a thread, to DIR/hotlined.log (appended
// across restarts, each run headed by "=== crash_test: start #N"). Only the main thread calls
// Start/Kill/Stop: the child is told to die with the thread that forked it (PR_SET_PDEATHSIG),
// so a crash_test that is itself killed leaves no daemon behind.
class DaemonProcess {
 public:
  DaemonProcess(std::string hotlined, std::string config, std::filesystem::path dir)
      : hotlined_(std::move(hotlined)), config_(std::move(config)), dir_(std::move(dir)) {}
  ~DaemonProcess() {
    if (pid_ > 0) {
      Kill();
    }
  }
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Starts hotlined and waits for its ready line. Returns false (and says why) when it could
  // not start or did not become ready within kReadyDeadline.
  bool Start() {
    ++starts_;
    {
      std::ofstream log(log_path(), std::ios::app);
      log << "=== crash_test: start #" << starts_ << "\n";
    }
    // Info level: the digests and the recovery line are logged at info.
    const std::vector<std::string> args = {hotlined_,
                                           "--config",
                                           config_,
                                           "--grpc-listen",
                                           "127.0.0.1:0",
                                           "--http-listen",
                                           "127.0.0.1:0",
                                           "--database",
                                           database_path().string(),
                                           "--caller-key-file",
                                           (dir_ / "caller.key").string(),
                                           "--log-level",
                                           "info"};
    std::vector<char*> argv;
    for (const auto& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      Say("cannot create a pipe: ", std::strerror(errno));
      return false;
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      Say("cannot fork: ", std::strerror(errno));
      close(fds[0]);
      close(fds[1]);
      return false;
    }
    if (pid == 0) {
      // The child: async-signal-safe calls only until exec.
      const int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) {
        dup2(devnull, 0);
      }
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) {
        _exit(127);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    pid_ = pid;
    {
      std::lock_guard lock(mu_);
      ready_ = false;
      eof_ = false;
      run_ = RunLog();
    }
    drain_ = std::thread([this, fd = fds[0]] { Drain(fd); });

    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kReadyDeadline, [&] { return ready_ || eof_; });
    if (ready_) {
      return true;
    }
    const bool exited = eof_;
    lock.unlock();
    Say("hotlined ", exited ? "exited before it was ready" : "was not ready in time",
        "; the last lines of ", log_path().string(), ":");
    Kill();
    PrintLogTail();
    return false;
  }

  // SIGKILL, then reaps the child.
  void Kill() {
    if (pid_ <= 0) {
      return;
    }
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    drain_.join();
  }

  // SIGTERM, then waits up to `patience` for a clean exit. Returns the exit status (0 is clean),
  // or -1 when it had to be killed.
  int Stop(Millis patience) {
    if (pid_ <= 0) {
      return -1;
    }
    kill(pid_, SIGTERM);
    // A blocking waitpid on its own thread, waited for with a deadline.
    const pid_t pid = pid_;
    auto exited = std::async(std::launch::async, [pid] {
      int status = 0;
      waitpid(pid, &status, 0);
      return status;
    });
    if (exited.wait_for(patience) != std::future_status::ready) {
      Say("hotlined did not exit within ", patience.count(), " ms of SIGTERM; killing it");
      kill(pid, SIGKILL);
      exited.wait();
      pid_ = -1;
      drain_.join();
      return -1;
    }
    const int status = exited.get();
    pid_ = -1;
    drain_.join();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  pid_t pid() const { return pid_; }
  int starts() const { return starts_; }
  std::string grpc_address() const {
    std::lock_guard lock(mu_);
    return run_.grpc_address;
  }
  // What the current (or, once it exited, the last) run logged so far.
  RunLog run() const {
    std::lock_guard lock(mu_);
    return run_;
  }
  std::filesystem::path database_path() const { return dir_ / "hotline.db"; }
  std::filesystem::path log_path() const { return dir_ / "hotlined.log"; }

  void PrintLogTail() const {
    std::ifstream log(log_path());
    std::deque<std::string> tail;
    for (std::string line; std::getline(log, line);) {
      tail.push_back(line);
      if (tail.size() > 15) {
        tail.pop_front();
      }
    }
    for (const auto& line : tail) {
      Say("  | ", line);
    }
  }

 private:
  // Copies the child's output to the log and picks out what it says about itself. Ends at EOF
  // (the child exited), so the pipe never fills and blocks the daemon's logging.
  void Drain(int fd) {
    std::ofstream log(log_path(), std::ios::app);
    std::string pending;
    char buf[4096];
    while (true) {
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      log.write(buf, n);
      log.flush();
      pending.append(buf, static_cast<size_t>(n));
      size_t newline;
      while ((newline = pending.find('\n')) != std::string::npos) {
        OnLine(pending.substr(0, newline));
        pending.erase(0, newline + 1);
      }
    }
    close(fd);
    {
      std::lock_guard lock(mu_);
      eof_ = true;
    }
    cv_.notify_all();
  }

  // The text after `marker` in `line` up to the next space, or "" when absent.
  static std::string After(const std::string& line, const std::string& marker) {
    const size_t at = line.find(marker);
    if (at == std::string::npos) {
      return "";
    }
    const size_t from = at + marker.size();
    const size_t to = line.find(' ', from);
    return line.substr(from, to == std::string::npos ? std::string::npos : to - from);
  }

  void OnLine(const std::string& line) {
    std::lock_guard lock(mu_);
    if (line.find("] [error] ") != std::string::npos ||
        line.find("] [critical] ") != std::string::npos) {
      if (run_.errors.size() < 10) {
        run_.errors.push_back(line);
      }
    }
    if (std::string d = After(line, "state digest after recovery: "); !d.empty()) {
      run_.recovered_digest = d;
    } else if (std::string s = After(line, "state digest at shutdown: "); !s.empty()) {
      run_.shutdown_digest = s;
    } else if (const size_t at = line.find("] recovered "); at != std::string::npos) {
      run_.recovery = line.substr(at + 2);
    } else if (line.rfind("hotlined ready:", 0) == 0) {
      // "hotlined ready: grpc=HOST:PORT http=HOST:PORT database=PATH"
      run_.grpc_address = After(line, "grpc=");
      ready_ = !run_.grpc_address.empty();
      cv_.notify_all();
    }
  }

  const std::string hotlined_;
  const std::string config_;
  const std::filesystem::path dir_;
  pid_t pid_ = -1;
  int starts_ = 0;
  std::thread drain_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool ready_ = false;  // Guarded by mu_, like the two below.
  bool eof_ = false;
  RunLog run_;
};

// Writes the config hotlined runs with: `base` (deploy/hotline.toml) with some keys set to other
// values, e.g. {"storage", "snapshot_every_records", "100"}. A key missing from `base` is added
// to its table. Returns false when a file cannot be read or written.
struct ConfigValue {
  std::string table;
  std::string key;
  std::string value;  // TOML, as written.
};

inline bool WriteConfig(const std::string& base, const std::filesystem::path& out,
                        const std::vector<ConfigValue>& values) {
  std::ifstream in(base);
  if (!in) {
    return false;
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  auto trimmed = [](const std::string& s) {
    const size_t from = s.find_first_not_of(" \t");
    return from == std::string::npos ? std::string() : s.substr(from);
  };
  for (const ConfigValue& v : values) {
    std::string table;
    std::optional<size_t> header;
    bool done = false;
    for (size_t i = 0; i < lines.size() && !done; ++i) {
      const std::string t = trimmed(lines[i]);
      if (!t.empty() && t[0] == '[') {
        table = t.substr(1, t.find(']') - 1);
        if (table == v.table) {
          header = i;
        }
        continue;
      }
      if (table == v.table && t.rfind(v.key, 0) == 0 &&
          trimmed(t.substr(v.key.size())).rfind('=', 0) == 0) {
        lines[i] = v.key + " = " + v.value;
        done = true;
      }
    }
    if (done) {
      continue;
    }
    if (header) {
      lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(*header) + 1,
                   v.key + " = " + v.value);
    } else {
      lines.push_back("[" + v.table + "]");
      lines.push_back(v.key + " = " + v.value);
    }
  }
  std::ofstream os(out);
  for (const auto& line : lines) {
    os << line << "\n";
  }
  return static_cast<bool>(os);
}

}  // namespace hotline::crash
