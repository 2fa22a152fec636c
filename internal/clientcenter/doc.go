// Package clientcenter owns the developer web app and the account pages a
// signed-in user reaches from it: the Client Center at /clients, where a
// developer registers and manages their own OAuth clients (the API
// documentation's "Create an OAuth client in Client Center"), and
// /account/apps, where a user sees
// and removes the apps holding their consent.
//
// Every page is server-rendered behind web.Secure (CSP, no framing,
// cross-origin POSTs refused) and every form carries a double-submit CSRF
// token. Sign-in is the hosted one of package authorize: a browser without a
// session is sent to /login with return_to. Client rules (redirect URIs per
// RFC 6749 section 3.1.2 and RFC 8252, scopes, secrets) are package
// registry's; this package only decides who may do what:
//
//   - a developer sees and changes only the clients they own; any other
//     client id answers 404, exactly like one that does not exist, so ids
//     of other developers' apps cannot be confirmed by probing;
//   - an administrator (store.User.Admin) sees every client, may mark one
//     first-party, and may enable the admin scope;
//   - a client secret is shown once, in the response to the request that
//     made it (create or regenerate), and never again: only its hash is
//     stored. That response is the one exception to 303-after-POST. A
//     regenerate form carries the client's version, so reloading the secret
//     page (which resends the form) cannot silently replace the secret just
//     shown;
//   - the secret page may run one embedded script, /assets/copy.js, for its
//     copy button (CSP script-src 'self' on that page only); without script
//     the secret stays in a read-only field to select by hand.
//
// Routes mounted by Register, all HTML:
//
//	GET  /clients                       the developer's apps (every app for admins)
//	GET  /clients/new                   the registration form
//	POST /clients                       register; shows the secret once
//	GET  /clients/{id}                  credentials, settings, status, delete
//	POST /clients/{id}                  save settings
//	POST /clients/{id}/secret           regenerate the secret; shows it once
//	POST /clients/{id}/disable          disable (revokes every token it holds)
//	POST /clients/{id}/enable           enable
//	GET  /clients/{id}/delete           confirmation page
//	POST /clients/{id}/delete           delete, with the app's name typed as confirmation
//	GET  /account/apps                  apps holding the user's consent
//	POST /account/apps/{id}/revoke      remove an app's access (its tokens die at once)
package clientcenter
