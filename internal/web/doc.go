// Package web owns the HTML layer every Aries page shares: the embedded
// templates and assets, the renderer, the security headers and
// cross-origin checks of HTML routes (SecureFor, which compares a form's
// Origin with an https issuer's origin; Secure), and double-submit CSRF tokens
// for forms (CSRF).
//
// Pages load nothing from other origins and run no script, except that a
// page may opt in (AllowScripts) to the embedded scripts under /assets/, as
// the Client Center's secret page does for its copy button. Their
// Content-Security-Policy allows forms to post only to Aries itself, widened
// per response (AllowFormAction) to the registered redirect URI of an
// authorization in progress, because Chromium applies form-action to the
// redirects that follow a form submission too.
//
// Routes mounted by the caller: Assets serves /assets/.
package web
