#pragma once
// The web dashboard every node serves under /ui/ (docs/dashboard.md): its pages are files under
// web/ compiled into the binary (core/resources.hpp), so nothing is fetched from anywhere at
// run time. The pages are a client of the /v1 API: they call it with the session cookie this
// file's login sets, and every answer is what that API gives the token (its scopes and
// agencies). Here: `/` and `/ui` redirect to `/ui/`, the files, and the session routes:
//
//   POST   /ui/session   {"token": "..."}: log in; sets the session cookie (HttpOnly,
//                        SameSite=Strict, Secure under TLS) and answers who it is and the
//                        CSRF token the page sends with every write
//   GET    /ui/session   who the cookie's session is (a reload of the page)
//   DELETE /ui/session   log out (with the CSRF token)

#include <string>

#include "core/config.hpp"
#include "http/auth.hpp"
#include "http/router.hpp"

namespace simpul::ui {

class Dashboard {
 public:
  Dashboard(const Config& cfg, const http::Authenticator& auth, http::SessionTable& sessions);
  void add_routes(http::Router& router);

 private:
  void asset(const http::Request& req, const std::string& name, http::Reply reply) const;
  void login(const http::Request& req, http::Reply reply);
  void whoami(const http::Request& req, http::Reply reply) const;
  void logout(const http::Request& req, http::Reply reply);
  std::string session_json(const http::Principal& p, const std::string& csrf,
                           TimeMs expires_at) const;

  const Config& cfg_;
  const http::Authenticator& auth_;
  http::SessionTable& sessions_;
};

}  // namespace simpul::ui
