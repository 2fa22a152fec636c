// DPoP (RFC 9449) against `aries serve` with oauth4webapi, a certified
// OAuth client library this project did not write: its proofs, not ours,
// must pass Aries' checks. cmd/aries/interop_test.go runs it.
//
// Environment: ARIES_ISSUER (the server's issuer), ARIES_PUBLIC_CLIENT_ID
// and ARIES_REDIRECT_URI (a public client), ARIES_CLIENT_ID and
// ARIES_CLIENT_SECRET (a confidential client).
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
async function retry(fn, counter) {
  try {
    return await fn()
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err
    counter.challenges++
    return await fn()
  }
}

async function main() {
  const issuer = new URL(env('ARIES_ISSUER'))
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }))
  const out = { nonce_challenges: 0, dpop_signing_alg_values_supported: as.dpop_signing_alg_values_supported }
  const counter = { challenges: 0 }

  // A public client with its own ES256 key.
  const pub = { client_id: env('ARIES_PUBLIC_CLIENT_ID') }
  const keyPair = await oauth.generateKeyPair('ES256')
  const DPoP = oauth.DPoP(pub, keyPair)
  out.jkt = await DPoP.calculateThumbprint()

  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const redirectUri = env('ARIES_REDIRECT_URI')
  const authURL = new URL(as.authorization_endpoint)
  authURL.search = new URLSearchParams({
    response_type: 'code', client_id: pub.client_id, redirect_uri: redirectUri, scope: 'read', state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    dpop_jkt: out.jkt, // RFC 9449 section 10
  }).toString()
  console.log(JSON.stringify({ authorization_url: authURL.href }))

  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
  const callback = (await lines.next()).value
  const params = oauth.validateAuthResponse(as, pub, new URL(callback), state)

  const code = await retry(async () => oauth.processAuthorizationCodeResponse(as, pub,
    await oauth.authorizationCodeGrantRequest(as, pub, oauth.None(), params, redirectUri, verifier, { DPoP, ...insecure })), counter)
  out.code = { token_type: code.token_type, access_token: code.access_token, refresh_token: code.refresh_token }

  const me = await retry(async () => {
    const resp = await oauth.protectedResourceRequest(code.access_token, 'GET', new URL('/v1/users/me', issuer), undefined, undefined, { DPoP, ...insecure })
    if (!resp.ok) throw new Error(`GET /v1/users/me: ${resp.status} ${await resp.text()}`)
    return resp.json()
  }, counter)
  out.user_id = me.id

  const refreshed = await retry(async () => oauth.processRefreshTokenResponse(as, pub,
    await oauth.refreshTokenGrantRequest(as, pub, oauth.None(), code.refresh_token, { DPoP, ...insecure })), counter)
  out.refresh = { token_type: refreshed.token_type, access_token: refreshed.access_token }

  // A confidential client acting as itself, with an EdDSA key.
  const conf = { client_id: env('ARIES_CLIENT_ID') }
  const confDPoP = oauth.DPoP(conf, await oauth.generateKeyPair('EdDSA'))
  const cc = await retry(async () => oauth.processClientCredentialsResponse(as, conf,
    await oauth.clientCredentialsGrantRequest(as, conf, oauth.ClientSecretPost(env('ARIES_CLIENT_SECRET')),
      { scope: 'market:information' }, { DPoP: confDPoP, ...insecure })), counter)
  out.client_credentials = { token_type: cc.token_type, access_token: cc.access_token, jkt: await confDPoP.calculateThumbprint() }

  out.nonce_challenges = counter.challenges
  console.log(JSON.stringify(out))
}

main().catch((err) => {
  console.log(JSON.stringify({ error: `${err.name}: ${err.message}`, cause: err.cause ? String(JSON.stringify(err.cause)) : undefined }))
  process.exit(1)
})
