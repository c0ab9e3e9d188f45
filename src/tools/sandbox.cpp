#include "r1/tools/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include "r1/core/error.h"

namespace r1 {

namespace {

using Clock = std::chrono::steady_clock;

// Run as root, the code gets uid kFirstUid + slot: no real user's, and one per concurrent run, so
// that RLIMIT_NPROC (counted per uid) bounds each run on its own.
constexpr uint32_t kFirstUid = 1'900'000'000;
constexpr int kUidSlots = 4096;
constexpr const char* kWorkDir = "/tmp/work";
constexpr const char* kStage = "/tmp";  // where the read-only root is put together before it becomes the root

// What the sandboxed side reports on the status pipe (writes below PIPE_BUF are atomic).
struct Report {
  int kind = 0;    // 'E': a setup step failed (step, err); 'S': the program ended (status)
  int step = 0;    // Step
  int err = 0;     // errno
  int status = 0;  // waitpid status of the program
};

enum Step : int {
  kPrivate = 1, kProc, kReadOnly, kWorkTmpfs, kMakeWorkDir, kWriteFile, kForkProgram,
  kRlimit, kDropUid, kChdir, kExec,
};

const char* step_name(int step) {
  switch (step) {
    case kPrivate: return "making the mounts private";
    case kProc: return "mounting /proc";
    case kReadOnly: return "remounting the filesystem read-only";
    case kWorkTmpfs: return "mounting the working directory's tmpfs";
    case kMakeWorkDir: return "creating the working directory";
    case kWriteFile: return "writing a file into the working directory";
    case kForkProgram: return "starting the program's process";
    case kRlimit: return "setting the rlimits";
    case kDropUid: return "switching to the sandbox uid";
    case kChdir: return "entering the working directory";
    case kExec: return "executing the program";
    default: return "setting up";
  }
}

// A mount point to remount read-only, with the flags it must keep (MS_NOSUID...: a remount that
// drops a locked flag is refused).
struct ReadOnlyMount {
  std::string path;
  unsigned long flags = 0;
  bool files = true;  // holds files (not proc, sysfs, devices, cgroups...)
  std::string id;     // mountinfo's mount id (a mount stacked on another has its own)
};

// The mounts this process sees, from /proc/self/mountinfo, outermost first.
std::vector<ReadOnlyMount> visible_mounts() {
  static const std::vector<std::string> pseudo = {"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2",
                                                  "mqueue", "debugfs", "tracefs", "securityfs", "pstore",
                                                  "bpf", "configfs", "fusectl", "hugetlbfs", "binfmt_misc",
                                                  "autofs", "rpc_pipefs", "nsfs"};
  std::vector<ReadOnlyMount> out;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    // id parent major:minor root mountpoint options [optional fields] - fstype source superoptions
    std::istringstream fields(line);
    std::string id, parent, dev, root, point, options, word;
    fields >> id >> parent >> dev >> root >> point >> options;
    while (fields >> word && word != "-") {}
    std::string fstype;
    fields >> fstype;
    const bool files = std::find(pseudo.begin(), pseudo.end(), fstype) == pseudo.end();
    // Octal escapes (\040 for a space) in the mount point.
    std::string path;
    for (std::size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        path += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        path += point[i];
      }
    }
    ReadOnlyMount m{path, MS_REMOUNT | MS_BIND | MS_RDONLY, files, id};
    std::istringstream opts(options);
    for (std::string o; std::getline(opts, o, ',');) {
      if (o == "nosuid") m.flags |= MS_NOSUID;
      else if (o == "nodev") m.flags |= MS_NODEV;
      else if (o == "noexec") m.flags |= MS_NOEXEC;
      else if (o == "noatime") m.flags |= MS_NOATIME;
      else if (o == "nodiratime") m.flags |= MS_NODIRATIME;
      else if (o == "relatime") m.flags |= MS_RELATIME;
    }
    out.push_back(std::move(m));
  }
  return out;
}

// Everything the sandboxed side needs, built before the clone: after it, that side only makes
// system calls (the trainer has threads; a lock one of them held would never be released there).
struct Plan {
  std::vector<std::string> argv_text, env_text;
  std::vector<char*> argv, env;
  std::vector<ReadOnlyMount> read_only;  // filesystem: isolated, as staged under kStage
  std::vector<std::string> file_paths;
  std::vector<const std::string*> file_contents;
  std::string tmpfs_options;
  bool root = false;             // the code gets uid `uid` (else it keeps the trainer's, mapped to 0)
  uint32_t uid = 0, gid = 0;     // the code's ids (0 in user-namespace mode: mapped to the trainer's)
  rlimit cpu{}, address_space{}, file_size{}, open_files{}, processes{}, core{};
  bool limit_processes = false;
  bool mount_proc = true;
  int out_w = -1, status_w = -1;
  int go_r = -1;  // the trainer writes one byte once the user namespace's ids are mapped
};

void report(int fd, int kind, int step, int err, int status) {
  Report r{kind, step, err, status};
  ssize_t ignored = ::write(fd, &r, sizeof r);
  (void)ignored;
}

[[noreturn]] void fail(int status_fd, int step) {
  report(status_fd, 'E', step, errno, 0);
  _exit(126);
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool write_proc_file(const char* path, const std::string& text) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write_all(fd, text);
  ::close(fd);
  return ok;
}

// The program's process: descriptors, limits, uid, directory, then exec.
[[noreturn]] void program_main(const Plan& p) {
  int status = p.status_w;  // where a failed step is reported: moved to 3 below
  if (::dup2(p.out_w, 1) < 0 || ::dup2(p.out_w, 2) < 0) fail(status, kForkProgram);
  int null = ::open("/dev/null", O_RDONLY);
  if (null < 0 || ::dup2(null, 0) < 0) fail(status, kForkProgram);
  // The status pipe at 3, closed by exec; everything else the trainer had open, closed now.
  if (::syscall(SYS_dup3, p.status_w, 3, O_CLOEXEC) < 0) fail(status, kForkProgram);
  status = 3;
  ::syscall(SYS_close_range, 4u, ~0u, 0u);
  if (::setrlimit(RLIMIT_CPU, &p.cpu) != 0 || ::setrlimit(RLIMIT_AS, &p.address_space) != 0 ||
      ::setrlimit(RLIMIT_FSIZE, &p.file_size) != 0 || ::setrlimit(RLIMIT_NOFILE, &p.open_files) != 0 ||
      ::setrlimit(RLIMIT_CORE, &p.core) != 0 || (p.limit_processes && ::setrlimit(RLIMIT_NPROC, &p.processes) != 0))
    fail(status, kRlimit);
  if (p.root) {
    // Raw system calls: glibc's set*id would try to reach the trainer's other threads.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, p.gid, p.gid, p.gid) != 0 ||
        ::syscall(SYS_setresuid, p.uid, p.uid, p.uid) != 0)
      fail(status, kDropUid);
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(status, kDropUid);
  if (::chdir(kWorkDir) != 0) fail(status, kChdir);
  ::execve(p.argv[0], p.argv.data(), p.env.data());
  fail(status, kExec);
}

// The namespace's first process (PID 1 there): sets the namespace up, starts the program, and
// ends when the program ends, which ends every process the program left behind.
[[noreturn]] void supervisor_main(const Plan& p) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // the trainer gone: so is everything here
  char go = 0;
  if (::read(p.go_r, &go, 1) != 1) _exit(125);  // the ids could not be mapped: the trainer says why
  // In a user namespace of its own, this mount namespace's shared mounts became slaves: nothing
  // mounted here propagates out. Private as well where "/" is a mount point (not in a chroot).
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 && errno != EINVAL) fail(p.status_w, kPrivate);
  if (!p.read_only.empty()) {
    // The root, read-only: bound (with every mount below it) onto kStage, each of those mounts
    // remounted read-only, and made the root. Binding first makes this hold where "/" is no mount
    // point of its own (a chroot), and covers mounts the trainer cannot see.
    if (::mount("/", kStage, nullptr, MS_BIND | MS_REC, nullptr) != 0) fail(p.status_w, kReadOnly);
    for (const auto& m : p.read_only)
      if (::mount(nullptr, m.path.c_str(), nullptr, m.flags, nullptr) != 0) fail(p.status_w, kReadOnly);
    if (::chdir(kStage) != 0 || ::chroot(".") != 0 || ::chdir("/") != 0) fail(p.status_w, kReadOnly);
  }
  if (p.mount_proc && ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) fail(p.status_w, kProc);
  if (::mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, p.tmpfs_options.c_str()) != 0) fail(p.status_w, kWorkTmpfs);
  if (::mkdir(kWorkDir, 0700) != 0 || ::chown(kWorkDir, p.uid, p.gid) != 0) fail(p.status_w, kMakeWorkDir);
  for (std::size_t i = 0; i < p.file_paths.size(); ++i) {
    int fd = ::open(p.file_paths[i].c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || !write_all(fd, *p.file_contents[i]) || ::fchown(fd, p.uid, p.gid) != 0) fail(p.status_w, kWriteFile);
    ::close(fd);
  }
  long child = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (child < 0) fail(p.status_w, kForkProgram);
  if (child == 0) program_main(p);
  ::close(p.out_w);
  while (true) {
    int status = 0;
    long r = ::syscall(SYS_wait4, -1, &status, 0, nullptr);
    if (r == child) {
      report(p.status_w, 'S', 0, 0, status);
      _exit(0);
    }
    if (r < 0 && errno != EINTR) _exit(125);
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "ended";
}

}  // namespace

struct Sandbox::Impl {
  bool root = false;                  // uid drop and process limits
  bool user_namespace = true;         // off only where the kernel refuses one to root (in a chroot)
  std::vector<ReadOnlyMount> read_only;
  bool mount_proc = true;
  mutable std::mutex mutex;
  mutable std::vector<bool> slot_used = std::vector<bool>(kUidSlots, false);

  int take_slot() const {
    std::lock_guard<std::mutex> lock(mutex);
    for (int i = 0; i < kUidSlots; ++i)
      if (!slot_used[static_cast<std::size_t>(i)]) {
        slot_used[static_cast<std::size_t>(i)] = true;
        return i;
      }
    throw std::runtime_error("sandbox: more than 4096 concurrent runs");
  }
  void give_slot(int i) const {
    std::lock_guard<std::mutex> lock(mutex);
    slot_used[static_cast<std::size_t>(i)] = false;
  }
};

Sandbox::Sandbox(const SandboxConfig& config) : config_(config), impl_(std::make_unique<Impl>()) {
  impl_->root = ::geteuid() == 0;
  const auto mounts = visible_mounts();
  std::vector<std::string> ids_before;
  for (const auto& m : mounts) {
    ids_before.push_back(m.id);
    if (config.filesystem == SandboxFilesystem::Isolated && m.files) impl_->read_only.push_back(m);
  }
  if (!impl_->root && config.max_processes > 0)
    throw InputError(fmt::format(
        "sandbox.max_processes: {} needs r1train started as root: the limit counts processes per uid, and the code "
        "can only get a uid of its own (root switches to one) — as uid {} it would share the limit with this "
        "trainer's threads; run as root, or set sandbox.max_processes: 0 (no process limit: a fork bomb can then "
        "exhaust the machine)",
        config.max_processes, ::geteuid()));
  // The probe: the real set-up around /bin/true. A step that fails names the setting that needs it.
  SandboxResult probe = run({{"/bin/true"}, {}});
  if (impl_->root && probe.error.find("clone: Operation not permitted") != std::string::npos) {
    impl_->user_namespace = false;  // a chroot: root makes the other namespaces without one
    probe = run({{"/bin/true"}, {}});
  }
  if (!probe.error.empty() && probe.error.find("/proc") != std::string::npos && impl_->mount_proc) {
    impl_->mount_proc = false;  // the host's /proc stays visible (never signalable: another PID namespace)
    probe = run({{"/bin/true"}, {}});
  }
  // What the sandbox mounts stays in its namespace (its own user namespace makes its mounts slaves);
  // checked once all the same: a mount that appeared here would be named, not pretended away.
  for (const auto& m : visible_mounts())
    if (std::find(ids_before.begin(), ids_before.end(), m.id) == ids_before.end())
      throw InputError("sandbox: a mount the sandbox made showed outside it (" + m.path +
                       "); this kernel's mount propagation is not what r1train relies on: unmount it and run "
                       "r1train where / is a private mount (mount --make-rprivate /)");
  if (!probe.error.empty() || probe.exit_code != 0) {
    std::string hint = "sandbox.network: allow and sandbox.filesystem: open ask for less";
    if (probe.error.find("read-only") != std::string::npos)
      hint = "set sandbox.filesystem: open (the code may then write wherever its uid may)";
    throw InputError("sandbox: this machine cannot give the configured sandbox: " +
                     (probe.error.empty() ? describe_status(probe.exit_code << 8) : probe.error) + "; " + hint);
  }
  const auto mb = [](int v) { return v > 0 ? fmt::format("{} MB", v) : std::string("unlimited"); };
  guarantees_.push_back("own PID namespace: the code sees and signals only its own processes; the wall timeout "
                        "kills the namespace, so nothing it starts outlives the call" +
                        std::string(impl_->mount_proc ? "" : " (the host's /proc could not be replaced: it stays readable)"));
  guarantees_.push_back(config.network == SandboxNetwork::Deny ? "network: none (own network namespace, loopback down)"
                                                               : "network: the host's (sandbox.network: allow)");
  guarantees_.push_back(config.filesystem == SandboxFilesystem::Isolated
                            ? fmt::format("filesystem: read-only outside its working directory (a fresh {} tmpfs, "
                                          "gone after the call)", mb(config.max_file_mb))
                            : "filesystem: open (writes wherever its uid may; a fresh working directory)");
  guarantees_.push_back(impl_->root ? fmt::format("uid {}+ (not root, one per concurrent call), at most {} processes",
                                                  kFirstUid, config.max_processes)
                                    : fmt::format("the trainer's uid {} (mapped to root in a user namespace), no "
                                                  "process limit", ::geteuid()));
  guarantees_.push_back(fmt::format("rlimits: CPU {} s, address space {}, file size {}, 64 open files; wall clock {} s; "
                                    "output cut at {} bytes; environment scrubbed; stdin /dev/null",
                                    config.cpu_seconds, mb(config.memory_mb), mb(config.max_file_mb),
                                    config.wall_seconds, config.max_output_bytes));
}

Sandbox::~Sandbox() = default;

SandboxResult Sandbox::run(const SandboxRun& run) const {
  SandboxResult result;
  if (run.argv.empty() || run.argv[0].empty() || run.argv[0][0] != '/') {
    result.error = "the program must be an absolute path";
    return result;
  }
  Plan p;
  p.argv_text = run.argv;
  for (auto& a : p.argv_text) p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  p.env_text = {"PATH=/usr/local/bin:/usr/bin:/bin", std::string("HOME=") + kWorkDir, std::string("TMPDIR=") + kWorkDir,
                "LANG=C.UTF-8", "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1",
                "PYTHONDONTWRITEBYTECODE=1"};
  for (auto& e : p.env_text) p.env.push_back(e.data());
  p.env.push_back(nullptr);
  for (const auto& [name, content] : run.files) {
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      result.error = "a file name must be a plain name: '" + name + "'";
      return result;
    }
    p.file_paths.push_back(std::string(kWorkDir) + "/" + name);
    p.file_contents.push_back(&content);
  }
  if (config_.filesystem == SandboxFilesystem::Isolated) {
    // The mounts as they will sit under kStage; the root first (its own entry, or a plain remount
    // where "/" is no mount point, as in a chroot).
    bool root_listed = false;
    for (const auto& m : impl_->read_only) {
      root_listed = root_listed || m.path == "/";
      p.read_only.push_back({m.path == "/" ? std::string(kStage) : std::string(kStage) + m.path, m.flags});
    }
    if (!root_listed) p.read_only.insert(p.read_only.begin(), {std::string(kStage), MS_REMOUNT | MS_BIND | MS_RDONLY});
  }
  p.mount_proc = impl_->mount_proc;
  p.tmpfs_options = fmt::format("size={}m,mode=0755", config_.max_file_mb > 0 ? config_.max_file_mb : 64);
  p.root = impl_->root;
  const auto limit = [](rlim_t v) { return rlimit{v, v}; };
  const rlim_t mb = 1024 * 1024;
  // CPU: SIGXCPU at the limit (reported as such), SIGKILL a second later if it is caught.
  const rlim_t cpu = static_cast<rlim_t>(std::ceil(config_.cpu_seconds));
  p.cpu = config_.cpu_seconds > 0 ? rlimit{cpu, cpu + 1} : limit(RLIM_INFINITY);
  p.address_space = config_.memory_mb > 0 ? limit(static_cast<rlim_t>(config_.memory_mb) * mb) : limit(RLIM_INFINITY);
  p.file_size = config_.max_file_mb > 0 ? limit(static_cast<rlim_t>(config_.max_file_mb) * mb) : limit(RLIM_INFINITY);
  p.open_files = limit(64);
  p.core = limit(0);
  p.limit_processes = impl_->root && config_.max_processes > 0;
  p.processes = limit(static_cast<rlim_t>(std::max(config_.max_processes, 1)));
  int slot = -1;
  if (impl_->root) {
    slot = impl_->take_slot();
    p.uid = p.gid = kFirstUid + static_cast<uint32_t>(slot);
  }
  struct SlotGuard {
    const Impl* impl;
    int slot;
    ~SlotGuard() {
      if (slot >= 0) impl->give_slot(slot);
    }
  } slot_guard{impl_.get(), slot};

  int out[2], status[2], go[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error(std::string("sandbox: pipe: ") + std::strerror(errno));
  if (::pipe2(status, O_CLOEXEC) != 0 || ::pipe2(go, O_CLOEXEC) != 0) {
    for (int fd : {out[0], out[1], status[0], status[1]}) ::close(fd);
    throw std::runtime_error(std::string("sandbox: pipe: ") + std::strerror(errno));
  }
  p.out_w = out[1];
  p.status_w = status[1];
  p.go_r = go[0];
  // A user namespace where the kernel gives one: its mount namespace cannot propagate mounts back
  // out. Root maps every id to itself there (the code switches to its own uid); another user maps
  // only its own ids, to 0. In a chroot the kernel refuses user namespaces: root goes without
  // (the probe then checks that no mount shows outside).
  unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
  if (impl_->user_namespace) flags |= CLONE_NEWUSER;
  if (config_.network == SandboxNetwork::Deny) flags |= CLONE_NEWNET;
  const auto start = Clock::now();
  long pid = ::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) supervisor_main(p);
  ::close(out[1]);
  ::close(status[1]);
  ::close(go[0]);
  if (pid < 0) {
    result.error = std::string("cannot make the namespaces (clone: ") + std::strerror(errno) + ")";
    for (int fd : {out[0], status[0], go[1]}) ::close(fd);
    return result;
  }
  const std::string proc = fmt::format("/proc/{}/", pid);
  const bool mapped =
      !impl_->user_namespace ? true
      : p.root ? write_proc_file((proc + "uid_map").c_str(), "0 0 4294967295") &&
                   write_proc_file((proc + "gid_map").c_str(), "0 0 4294967295")
             : write_proc_file((proc + "setgroups").c_str(), "deny") &&
                   write_proc_file((proc + "uid_map").c_str(), fmt::format("0 {} 1", ::geteuid())) &&
                   write_proc_file((proc + "gid_map").c_str(), fmt::format("0 {} 1", ::getegid()));
  const int map_errno = errno;
  if (mapped) {
    const char one = 1;
    if (::write(go[1], &one, 1) != 1) {}
  }
  ::close(go[1]);  // unmapped: the child reads nothing and ends
  if (!mapped) result.error = std::string("cannot map ids into the sandbox's user namespace: ") + std::strerror(map_errno);

  // The output until every writer is gone, the cap, or the wall clock.
  const auto deadline = start + std::chrono::milliseconds(static_cast<int64_t>(config_.wall_seconds * 1000));
  const std::size_t cap = static_cast<std::size_t>(config_.max_output_bytes);
  bool killed = false;
  char buffer[65536];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0 && !killed) {
      result.timed_out = true;
      ::kill(static_cast<pid_t>(pid), SIGKILL);
      killed = true;
    }
    pollfd fd{out[0], POLLIN, 0};
    int ready = ::poll(&fd, 1, killed ? 1000 : static_cast<int>(std::max<int64_t>(left, 1)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      if (killed) break;  // killed, yet a writer lingers: stop waiting for it
      continue;
    }
    ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (killed) continue;  // draining after a kill
    const std::size_t room = cap > result.output.size() ? cap - result.output.size() : 0;
    result.output.append(buffer, std::min(room, static_cast<std::size_t>(n)));
    if (static_cast<std::size_t>(n) > room) {
      result.output_truncated = true;
      ::kill(static_cast<pid_t>(pid), SIGKILL);
      killed = true;
    }
  }
  ::close(out[0]);
  int supervisor_status = 0;
  while (::waitpid(static_cast<pid_t>(pid), &supervisor_status, 0) < 0 && errno == EINTR) {}
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();

  Report r;
  bool ended = false;
  while (::read(status[0], &r, sizeof r) == static_cast<ssize_t>(sizeof r)) {
    if (r.kind == 'E' && result.error.empty())
      result.error = fmt::format("sandbox set-up failed {}: {}", step_name(r.step), std::strerror(r.err));
    if (r.kind == 'S') {
      ended = true;
      if (WIFEXITED(r.status)) result.exit_code = WEXITSTATUS(r.status);
      if (WIFSIGNALED(r.status)) result.signal = WTERMSIG(r.status);
    }
  }
  ::close(status[0]);
  if (result.timed_out) {
    result.signal = SIGKILL;
    result.exit_code = -1;
    result.error = fmt::format("timed out after {} s (sandbox.wall_seconds); everything it started was killed",
                               config_.wall_seconds);
  } else if (result.output_truncated) {
    result.signal = SIGKILL;
    result.exit_code = -1;
    result.error = fmt::format("output passed {} bytes (sandbox.max_output_bytes): killed, output cut", cap);
  } else if (result.error.empty() && !ended) {
    result.error = "the sandbox ended without a status (" + describe_status(supervisor_status) + ")";
  } else if (result.error.empty() && result.signal != 0) {
    result.error = result.signal == SIGXCPU
                       ? fmt::format("CPU time past sandbox.cpu_seconds = {} s: killed", config_.cpu_seconds)
                       : fmt::format("killed by signal {} ({})", result.signal, strsignal(result.signal));
  }
  return result;
}

}  // namespace r1
