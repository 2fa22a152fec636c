// A FAPI 2.0 client against `aries serve` with oauth4webapi, a certified
// OAuth client library this project did not write: a pushed authorization
// request (RFC 9126) authenticated with private_key_jwt (RFC 7523), PKCE,
// DPoP-bound tokens (RFC 9449), the iss check of RFC 9207, a refresh and an
// API call. cmd/aries/fapi_e2e_test.go runs it.
//
// Environment: ARIES_ISSUER (the server's issuer), ARIES_FAPI_CLIENT_ID,
// ARIES_FAPI_CLIENT_KEY (the client's private key as a JWK, its public half
// registered with `aries clients create --profile fapi2 --jwks FILE`) and
// ARIES_REDIRECT_URI.
//
// Protocol on stdio, one JSON object per line: the script prints
// {"authorization_url": ...}; the test signs the user in on the hosted
// pages and writes the URL the browser was sent back to; the script
// finishes the flow and prints what it got, or {"error": ...}.

import * as oauth from 'oauth4webapi'
import { createInterface } from 'node:readline'

const env = (name) => {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set`)
  return v
}

// The test server speaks plain http on 127.0.0.1.
const insecure = { [oauth.allowInsecureRequests]: true }

// retry runs a request once more when the server asks for its DPoP nonce:
// the DPoP handle has kept the nonce of the answer (RFC 9449 section 8).
async function retry(fn) {
  try {
    return await fn()
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err
    return await fn()
  }
}

async function main() {
  const issuer = new URL(env('ARIES_ISSUER'))
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }))
  const out = {
    pushed_authorization_request_endpoint: as.pushed_authorization_request_endpoint,
    token_endpoint_auth_methods_supported: as.token_endpoint_auth_methods_supported,
  }

  const client = { client_id: env('ARIES_FAPI_CLIENT_ID') }
  const jwk = JSON.parse(env('ARIES_FAPI_CLIENT_KEY'))
  const privateKey = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
  const clientAuth = oauth.PrivateKeyJwt({ key: privateKey, kid: jwk.kid })
  const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
  out.jkt = await DPoP.calculateThumbprint()

  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const redirectUri = env('ARIES_REDIRECT_URI')
  const pushed = await retry(async () => oauth.processPushedAuthorizationResponse(as, client,
    await oauth.pushedAuthorizationRequest(as, client, clientAuth, {
      response_type: 'code', redirect_uri: redirectUri, scope: 'read', state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }, { DPoP, ...insecure })))
  out.request_uri = pushed.request_uri
  out.expires_in = pushed.expires_in

  const authURL = new URL(as.authorization_endpoint)
  authURL.search = new URLSearchParams({ client_id: client.client_id, request_uri: pushed.request_uri }).toString()
  console.log(JSON.stringify({ authorization_url: authURL.href }))

  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
  const callback = new URL((await lines.next()).value)
  out.iss = callback.searchParams.get('iss')
  // Checks state, and iss against the metadata's issuer (RFC 9207).
  const params = oauth.validateAuthResponse(as, client, callback, state)

  const code = await retry(async () => oauth.processAuthorizationCodeResponse(as, client,
    await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, verifier, { DPoP, ...insecure })))
  out.code = { token_type: code.token_type, access_token: code.access_token, refresh_token: code.refresh_token }

  const me = await retry(async () => {
    const resp = await oauth.protectedResourceRequest(code.access_token, 'GET', new URL('/v1/users/me', issuer), undefined, undefined, { DPoP, ...insecure })
    if (!resp.ok) throw new Error(`GET /v1/users/me: ${resp.status} ${await resp.text()}`)
    return resp.json()
  })
  out.user_id = me.id

  const refreshed = await retry(async () => oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, clientAuth, code.refresh_token, { DPoP, ...insecure })))
  out.refresh = { token_type: refreshed.token_type, access_token: refreshed.access_token, refresh_token: refreshed.refresh_token ?? '' }

  console.log(JSON.stringify(out))
}

main().catch((err) => {
  console.log(JSON.stringify({ error: `${err.name}: ${err.message}`, cause: err.cause ? String(JSON.stringify(err.cause)) : undefined }))
  process.exit(1)
})
