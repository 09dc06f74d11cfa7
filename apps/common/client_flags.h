// The flags every client program shares: who signs in, and TLS with
// redis-cli's names (--tls --cacert --cert --key).
#pragma once

#include <CLI/CLI.hpp>

#include "cmud/client/client.h"
#include "cmud/client/credentials.h"
#include "cmud/tls/tls.h"

namespace cmud::apps {

// Filled by CLI11 from the command line. Thread-compatible.
struct ClientFlags {
  client::Credentials credentials;
  bool tls = false;
  tls::TlsOptions tls_files;

  void add_to(CLI::App& app) {
    app.add_option("--user", credentials.user,
                   "sign in as this user (default: the default user)");
    app.add_option("-a,--pass", credentials.password,
                   "the server's password (AUTH); other users of this "
                   "machine can read flags in the process list, so prefer "
                   "the environment variable CMUD_PASSWORD");
    app.add_flag("--tls", tls, "connect over TLS");
    app.add_option("--cacert", tls_files.ca_cert_file,
                   "with --tls: PEM CA certificates the server's must chain "
                   "to (default: the system's)")
        ->check(CLI::ExistingFile);
    app.add_option("--cert", tls_files.cert_file,
                   "with --tls: our PEM certificate, for servers that ask "
                   "for one")
        ->check(CLI::ExistingFile);
    app.add_option("--key", tls_files.key_file,
                   "with --tls: the PEM private key of --cert")
        ->check(CLI::ExistingFile);
  }

  // Client options with these credentials (or CMUD_PASSWORD/CMUD_USER)
  // and, with --tls, a TLS context; kInvalidArgument when a TLS file cannot
  // be used or TLS files come without --tls.
  Result<client::ClientOptions> options() const {
    client::ClientOptions o;
    o.credentials = client::with_environment(credentials);
    const bool files = !tls_files.ca_cert_file.empty() ||
                       !tls_files.cert_file.empty() ||
                       !tls_files.key_file.empty();
    if (files && !tls) {
      return Status(ErrorCode::kInvalidArgument,
                    "--cacert, --cert and --key need --tls");
    }
    if (tls) {
      auto ctx = tls::client_context(tls_files);
      if (!ctx.ok()) return ctx.status();
      o.tls = *ctx;
    }
    return o;
  }
};

}  // namespace cmud::apps
