#pragma once
// Real database servers for the sql connectors' tests, benchmarks and `simpul demo`, from Debian's
// packages: each a throwaway instance in a folder of its own, reached by a Unix socket in that
// folder (no TCP port, no system service), run as the packages' unprivileged user (mysql, postgres)
// when the tests run as root. Started in the constructor (about a second), stopped and gone with
// the object.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "sql/sql_driver.hpp"

namespace simpul::dbserver {

// TLS on TCP besides the socket: the server's certificate and key (PEM, copied into the
// server's folder) and a port on 127.0.0.1 where only TLS is accepted.
struct TlsListener {
  std::string cert_file, key_file;
  std::uint16_t port = 0;
};

class DbServer {
 public:
  virtual ~DbServer();
  // An administrator's connection (creates schemas, users, rows; the app's own writes).
  virtual std::unique_ptr<connectors::sql::Connection> admin() const = 0;
  // The endpoint an app's user reaches it by (database `legacy`).
  connectors::sql::Endpoint endpoint(const std::string& user, const std::string& password) const;
  // Adds a user that may only read (SELECT on database `legacy`), or also write what the
  // test names.
  virtual void add_reader(const std::string& user, const std::string& password) = 0;
  virtual const char* name() const = 0;
  const std::string& socket() const { return socket_; }

 protected:
  // A connection to the server's default database: what "started" means.
  virtual void probe() const = 0;
  void launch(const std::vector<std::string>& argv, const std::string& run_as);
  void wait_ready();
  // The server's copies of the TLS files (readable by its user only), when it has them.
  void copy_tls(const TlsListener& tls);
  std::string dir_, socket_, tls_cert_, tls_key_;
  int port_ = 0;  // PostgreSQL names its socket by the port
  connectors::sql::Driver driver_ = connectors::sql::Driver::mariadb;
  pid_t pid_ = -1;
};

// MariaDB (mariadbd), database `legacy`, admin `root` without a password (socket only).
std::unique_ptr<DbServer> start_mariadb(const std::string& dir, const TlsListener* tls = nullptr);
// PostgreSQL (initdb + postgres), database `legacy`, superuser `simpul` trusted on the socket;
// with `tls`, every other user may also log in from 127.0.0.1 over TLS (scram-sha-256).
std::unique_ptr<DbServer> start_postgresql(const std::string& dir,
                                           const TlsListener* tls = nullptr);

}  // namespace simpul::dbserver
