#include "cmud/tls/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cmud/common/ascii.h"

namespace cmud::tls {

namespace {

Status file_error(std::string_view what, const std::string& path,
                  const asio::error_code& ec) {
  return Status(ErrorCode::kInvalidArgument, "cannot use the TLS " +
                                                 std::string(what) + " file " +
                                                 path + ": " + ec.message());
}

// TLS 1.2 and 1.3 only; no compression or renegotiation.
std::shared_ptr<Context> base_context(Context::method method) {
  auto ctx = std::make_shared<Context>(method);
  ctx->set_options(Context::default_workarounds | Context::no_sslv2 |
                   Context::no_sslv3 | Context::no_tlsv1 | Context::no_tlsv1_1 |
                   Context::no_compression | Context::single_dh_use);
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

Status load_identity(Context& ctx, const TlsOptions& o) {
  asio::error_code ec;
  ctx.use_certificate_chain_file(o.cert_file, ec);
  if (ec) return file_error("certificate", o.cert_file, ec);
  ctx.use_private_key_file(o.key_file, Context::pem, ec);
  // OpenSSL checks the key against the certificate as it loads it.
  const bool mismatch =
      ec && ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
          X509_R_KEY_VALUES_MISMATCH;
  if (ec && !mismatch) return file_error("key", o.key_file, ec);
  if (mismatch || SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    ERR_clear_error();
    return Status(ErrorCode::kInvalidArgument,
                  "the TLS key " + o.key_file +
                      " does not match the certificate " + o.cert_file);
  }
  return {};
}

Status load_ca(Context& ctx, const TlsOptions& o) {
  asio::error_code ec;
  ctx.load_verify_file(o.ca_cert_file, ec);
  if (ec) return file_error("CA certificate", o.ca_cert_file, ec);
  return {};
}

}  // namespace

std::optional<AuthClients> parse_auth_clients(std::string_view text) {
  std::string t = ascii_lower(text);
  if (t == "yes") return AuthClients::kYes;
  if (t == "no") return AuthClients::kNo;
  if (t == "optional") return AuthClients::kOptional;
  return std::nullopt;
}

Result<std::shared_ptr<Context>> server_context(const TlsOptions& o) {
  if (o.cert_file.empty() || o.key_file.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "TLS needs a certificate and its key (--tls-cert-file, "
                  "--tls-key-file)");
  }
  auto ctx = base_context(Context::tls_server);
  Status s = load_identity(*ctx, o);
  if (!s.ok()) return s;
  if (o.auth_clients != AuthClients::kNo) {
    if (o.ca_cert_file.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    "verifying client certificates needs the CA that signs "
                    "them (--tls-ca-cert-file), or --tls-auth-clients no");
    }
    s = load_ca(*ctx, o);
    if (!s.ok()) return s;
    // The CA's names go out in the certificate request, so clients with
    // several certificates pick the right one.
    STACK_OF(X509_NAME)* names =
        SSL_load_client_CA_file(o.ca_cert_file.c_str());
    if (names != nullptr)
      SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    ERR_clear_error();
    ctx->set_verify_mode(o.auth_clients == AuthClients::kYes
                             ? asio::ssl::verify_peer |
                                   asio::ssl::verify_fail_if_no_peer_cert
                             : asio::ssl::verify_peer);
  } else {
    ctx->set_verify_mode(asio::ssl::verify_none);
  }
  return ctx;
}

Result<std::shared_ptr<Context>> client_context(const TlsOptions& o) {
  auto ctx = base_context(Context::tls_client);
  if (o.cert_file.empty() != o.key_file.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "a TLS client certificate needs its key, and a key its "
                  "certificate");
  }
  if (!o.cert_file.empty()) {
    Status s = load_identity(*ctx, o);
    if (!s.ok()) return s;
  }
  if (o.ca_cert_file.empty()) {
    asio::error_code ec;
    ctx->set_default_verify_paths(ec);
    if (ec) {
      return Status(ErrorCode::kInvalidArgument,
                    "cannot load the system's CA certificates: " +
                        ec.message() + " (give a CA file)");
    }
  } else {
    Status s = load_ca(*ctx, o);
    if (!s.ok()) return s;
  }
  ctx->set_verify_mode(asio::ssl::verify_peer);
  return ctx;
}

void Stream::set_server_name(const std::string& host) {
  if (SSL* s = ssl()) SSL_set_tlsext_host_name(s, host.c_str());
}

void Stream::close() {
  asio::error_code ec;
  socket().shutdown(Socket::shutdown_both, ec);
  socket().close(ec);
}

std::string describe_error(const asio::error_code& ec, Stream& stream) {
  std::string why = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    const char* reason = ERR_reason_error_string(ec.value());
    if (reason != nullptr) why = reason;
  }
  if (SSL* s = stream.ssl()) {
    long verify = SSL_get_verify_result(s);
    if (verify != X509_V_OK) {
      why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    }
  }
  return why;
}

}  // namespace cmud::tls
