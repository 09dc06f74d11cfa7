// Certificates for tests, made at run time with OpenSSL (so none is
// checked in to expire): a CA, a server and a client certificate it signs,
// one it signed that has expired, and a self-signed pair no CA vouches for.
#pragma once

#include <string>

#include "cmud/common/status.h"

namespace cmud::tls::testing {

// PEM file paths. Immutable value type.
struct TestCerts {
  std::string ca_cert;
  std::string server_cert, server_key;  // CN localhost, SAN 127.0.0.1
  std::string client_cert, client_key;
  std::string expired_cert, expired_key;          // signed by the CA
  std::string self_signed_cert, self_signed_key;  // no CA
};

// Writes every file into `dir` (which must exist).
Result<TestCerts> write_test_certs(const std::string& dir);

// The certificates in a fresh temporary directory, removed with the
// object; ok() false (and error() says why) when they could not be made.
// Thread-compatible.
class TempCerts {
 public:
  TempCerts();
  ~TempCerts();
  TempCerts(const TempCerts&) = delete;
  TempCerts& operator=(const TempCerts&) = delete;
  bool ok() const { return status_.ok(); }
  const Status& error() const { return status_; }
  const TestCerts& operator*() const { return certs_; }
  const TestCerts* operator->() const { return &certs_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  TestCerts certs_;
  Status status_;
};

}  // namespace cmud::tls::testing
