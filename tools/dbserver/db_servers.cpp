#include "db_servers.hpp"

#include <fcntl.h>
#include <glob.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <vector>

namespace simpul::dbserver {
namespace sql = connectors::sql;
namespace fs = std::filesystem;

namespace {

// The unprivileged user a server runs as: the package's own user when we are root, else us.
std::string server_user(const char* package_user) { return geteuid() == 0 ? package_user : ""; }

void give_to(const std::string& path, const std::string& user) {
  if (user.empty()) return;
  // The server's user must pass through the test's own folder (mkdtemp makes it 0700).
  fs::permissions(fs::path(path).parent_path(),
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  const passwd* pw = getpwnam(user.c_str());
  if (!pw) throw std::runtime_error("no user " + user + " (is the server package installed?)");
  for (const auto& e : fs::recursive_directory_iterator(path))
    if (chown(e.path().c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("chown " + e.path().string());
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown " + path);
}

// Starts `argv` (as `user` when given) with its output appended to `log`. Everything the child
// needs is made before fork(): after it, only async-signal-safe calls (the test process has
// threads).
pid_t spawn(const std::vector<std::string>& argv, const std::string& user, const std::string& log) {
  uid_t uid = 0;
  gid_t gid = 0;
  if (!user.empty()) {
    const passwd* pw = getpwnam(user.c_str());
    if (!pw) throw std::runtime_error("no user " + user);
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log);
  pid_t pid = fork();
  if (pid < 0) {
    ::close(fd);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (!user.empty() && (setgid(gid) != 0 || setuid(uid) != 0)) _exit(126);
    execv(args[0], args.data());
    _exit(127);
  }
  ::close(fd);
  return pid;
}

// Runs a command to its end (as `user` when given), with its output in `log`; throws on failure.
void run(const std::vector<std::string>& argv, const std::string& user, const std::string& log) {
  pid_t pid = spawn(argv, user, log);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // The folder goes with the test: say here what the command said.
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() > 2000) text = text.substr(text.size() - 2000);
    throw std::runtime_error(argv[0] + " failed (status " + std::to_string(status) + "): " + text);
  }
}

std::string find_binary(const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    glob_t g;
    if (glob(p.c_str(), 0, nullptr, &g) == 0 && g.gl_pathc > 0) {
      std::string found = g.gl_pathv[g.gl_pathc - 1];  // the newest version sorts last
      globfree(&g);
      return found;
    }
    globfree(&g);
  }
  throw std::runtime_error("not installed: " + patterns.front() + " (run scripts/setup.sh)");
}

class MariaDb final : public DbServer {
 public:
  MariaDb(const std::string& dir, const TlsListener* tls) {
    driver_ = sql::Driver::mariadb;
    dir_ = dir + "/mariadb";
    socket_ = dir_ + "/sock";
    fs::create_directories(dir_ + "/data");
    if (tls) copy_tls(*tls);
    // Its own temporary folder: two servers set up at once in the shared /tmp collide on the
    // names of their temporary tables ("Could not remove temporary table", then "Unknown table
    // mysql.tmp_user_sys").
    fs::create_directories(dir_ + "/tmp");
    const std::string user = server_user("mysql");
    give_to(dir_, user);
    std::vector<std::string> install{
        find_binary({"/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"}),
        "--no-defaults",
        "--datadir=" + dir_ + "/data",
        "--tmpdir=" + dir_ + "/tmp",
        "--auth-root-authentication-method=normal",
        "--skip-test-db"};
    if (!user.empty()) install.push_back("--user=" + user);
    run(install, "", dir_ + "/install.log");
    std::vector<std::string> serve{find_binary({"/usr/sbin/mariadbd", "/usr/sbin/mysqld"}),
                                   "--no-defaults",
                                   "--datadir=" + dir_ + "/data",
                                   "--tmpdir=" + dir_ + "/tmp",
                                   "--socket=" + socket_,
                                   "--pid-file=" + dir_ + "/pid",
                                   "--log-error=" + dir_ + "/error.log",
                                   "--innodb-buffer-pool-size=64M",
                                   "--innodb-log-file-size=16M",
                                   "--skip-log-bin",
                                   "--character-set-server=utf8mb4"};
    if (!user.empty()) serve.push_back("--user=" + user);
    if (tls) {
      // TCP on 127.0.0.1 only, TLS required there (the socket is exempt).
      for (const std::string& a :
           {std::string("--bind-address=127.0.0.1"), "--port=" + std::to_string(tls->port),
            "--ssl-cert=" + tls_cert_, "--ssl-key=" + tls_key_, std::string("--skip-name-resolve"),
            std::string("--require-secure-transport=ON")})
        serve.push_back(a);
    } else {
      serve.push_back("--skip-networking");
    }
    launch(serve, "");
    wait_ready();
    auto a = admin_on("");
    a->execute("CREATE DATABASE legacy CHARACTER SET utf8mb4", {});
  }
  const char* name() const override { return "MariaDB"; }
  std::unique_ptr<sql::Connection> admin() const override { return admin_on("legacy"); }
  void add_reader(const std::string& user, const std::string& password) override {
    // Account names cannot be bound: the tests' names and passwords are plain words.
    auto a = admin_on("");
    a->execute("CREATE USER '" + user + "'@'localhost' IDENTIFIED BY '" + password + "'", {});
    a->execute("GRANT SELECT ON legacy.* TO '" + user + "'@'localhost'", {});
  }

 private:
  void probe() const override { admin_on(""); }
  std::unique_ptr<sql::Connection> admin_on(const std::string& db) const {
    sql::Endpoint e = endpoint("root", "");
    e.database = db;
    return sql::connect(e);
  }
};

class Postgres final : public DbServer {
 public:
  Postgres(const std::string& dir, const TlsListener* tls) {
    driver_ = sql::Driver::postgresql;
    dir_ = dir + "/postgresql";
    socket_ = dir_;
    fs::create_directories(dir_);
    if (tls) copy_tls(*tls);
    const std::string user = server_user("postgres");
    give_to(dir_, user);
    const std::string bin =
        fs::path(find_binary({"/usr/lib/postgresql/*/bin/initdb", "/usr/bin/initdb"}))
            .parent_path()
            .string();
    run({bin + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U", "simpul", "--no-sync", "-E",
         "UTF8", "--locale=C"},
        user, dir_ + "/initdb.log");
    // The superuser is trusted on the socket; every other user must give its password (so a
    // wrong one is refused, as on the app's server).
    {
      std::ofstream hba(dir_ + "/data/pg_hba.conf", std::ios::trunc);
      hba << "local all simpul trust\nlocal all all scram-sha-256\n";
      if (tls) hba << "hostssl all all 127.0.0.1/32 scram-sha-256\n";
    }
    std::vector<std::string> serve{bin + "/postgres", "-D", dir_ + "/data",       "-k", dir_, "-c",
                                   "fsync=off",       "-c", "shared_buffers=32MB"};
    if (tls) {
      port_ = tls->port;
      for (const std::string& a :
           {std::string("-c"), std::string("listen_addresses=127.0.0.1"), std::string("-p"),
            std::to_string(tls->port), std::string("-c"), std::string("ssl=on"), std::string("-c"),
            "ssl_cert_file=" + tls_cert_, std::string("-c"), "ssl_key_file=" + tls_key_})
        serve.push_back(a);
    } else {
      serve.push_back("-c");
      serve.push_back("listen_addresses=");
    }
    launch(serve, user);
    wait_ready();
    auto a = admin_on("postgres");
    a->execute("CREATE DATABASE legacy", {});
  }
  const char* name() const override { return "PostgreSQL"; }
  std::unique_ptr<sql::Connection> admin() const override { return admin_on("legacy"); }
  void add_reader(const std::string& user, const std::string& password) override {
    // Identifiers cannot be bound: the tests' user names are plain words.
    auto a = admin();
    a->execute("CREATE ROLE " + user + " LOGIN PASSWORD '" + password + "'", {});
    a->execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + user, {});
    a->execute("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO " + user, {});
  }

 private:
  void probe() const override { admin_on("postgres"); }
  std::unique_ptr<sql::Connection> admin_on(const std::string& db) const {
    sql::Endpoint e = endpoint("simpul", "");
    e.database = db;
    return sql::connect(e);
  }
};

}  // namespace

void DbServer::copy_tls(const TlsListener& tls) {
  tls_cert_ = dir_ + "/server-cert.pem";
  tls_key_ = dir_ + "/server-key.pem";
  fs::copy_file(tls.cert_file, tls_cert_, fs::copy_options::overwrite_existing);
  fs::copy_file(tls.key_file, tls_key_, fs::copy_options::overwrite_existing);
  // PostgreSQL refuses a key others may read; give_to hands both to the server's user.
  fs::permissions(tls_key_, fs::perms::owner_read | fs::perms::owner_write);
}

sql::Endpoint DbServer::endpoint(const std::string& user, const std::string& password) const {
  sql::Endpoint e;
  e.driver = driver_;
  e.socket = socket_;
  e.port = port_;
  e.database = "legacy";
  e.user = user;
  e.password = password;
  return e;
}

DbServer::~DbServer() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);  // both shut down cleanly on SIGTERM (PostgreSQL: smart, fast enough here)
    int status = 0;
    for (int i = 0; i < 200 && waitpid(pid_, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
}

void DbServer::launch(const std::vector<std::string>& argv, const std::string& run_as) {
  pid_ = spawn(argv, run_as, dir_ + "/server.log");
}

void DbServer::wait_ready() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(std::string(name()) + " exited at start; see " + dir_);
    }
    try {
      probe();
      return;
    } catch (const std::exception& e) {
      last = e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error(std::string(name()) + " did not start: " + last);
}

std::unique_ptr<DbServer> start_mariadb(const std::string& dir, const TlsListener* tls) {
  return std::make_unique<MariaDb>(dir, tls);
}
std::unique_ptr<DbServer> start_postgresql(const std::string& dir, const TlsListener* tls) {
  return std::make_unique<Postgres>(dir, tls);
}

}  // namespace simpul::dbserver
