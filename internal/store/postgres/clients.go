package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ariesexchange/aries/internal/store"
)

// CreateClient stores c; ErrConflict if its id is taken.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	defer s.clientSignal.changed()
	_, err := s.pool.Exec(ctx,
		`INSERT INTO clients (id, name, type, first_party, secret_hash, redirect_uris, scopes,
		                      disabled, owner_id, resource_server, created_at, updated_at,
		                      post_logout_redirect_uris, id_token_signed_response_alg,
		                      dpop_bound_access_tokens, token_endpoint_auth_method, jwks,
		                      profile, require_par, refresh_token_rotation,
		                      refresh_token_grace_seconds)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
		         $16, $17, $18, $19, $20, $21)`,
		c.ID, c.Name, string(c.Type), c.FirstParty, c.SecretHash,
		list(c.RedirectURIs), list(c.Scopes), c.Disabled, c.OwnerID,
		c.ResourceServer, ts(c.CreatedAt), ts(c.UpdatedAt),
		list(c.PostLogoutRedirectURIs), c.IDTokenSignedResponseAlg,
		c.DPoPBoundAccessTokens, c.TokenEndpointAuthMethod, c.JWKS,
		c.Profile, c.RequirePAR, c.RefreshTokenRotation,
		c.RefreshTokenGraceSeconds)
	return dbErr("create client", err)
}

const clientColumns = `id, name, type, first_party, secret_hash, redirect_uris, scopes,
	disabled, owner_id, resource_server, created_at, updated_at,
	post_logout_redirect_uris, id_token_signed_response_alg,
	dpop_bound_access_tokens, token_endpoint_auth_method, jwks,
	profile, require_par, refresh_token_rotation, refresh_token_grace_seconds`

func scanClient(row pgx.Row) (store.Client, error) {
	var c store.Client
	var typ string
	var created, updated pgtype.Timestamptz
	err := row.Scan(&c.ID, &c.Name, &typ, &c.FirstParty, &c.SecretHash, &c.RedirectURIs, &c.Scopes,
		&c.Disabled, &c.OwnerID, &c.ResourceServer, &created, &updated,
		&c.PostLogoutRedirectURIs, &c.IDTokenSignedResponseAlg,
		&c.DPoPBoundAccessTokens, &c.TokenEndpointAuthMethod, &c.JWKS,
		&c.Profile, &c.RequirePAR, &c.RefreshTokenRotation, &c.RefreshTokenGraceSeconds)
	if err != nil {
		return store.Client{}, err
	}
	c.Type = store.ClientType(typ)
	c.CreatedAt, c.UpdatedAt = fromTS(created), fromTS(updated)
	c.RedirectURIs, c.Scopes = fromList(c.RedirectURIs), fromList(c.Scopes)
	c.PostLogoutRedirectURIs = fromList(c.PostLogoutRedirectURIs)
	return c, nil
}

// Client returns the client with id, or ErrNotFound, from the cache when no
// client changed since it was read (package clientcache).
func (s *Store) Client(ctx context.Context, id string) (store.Client, error) {
	return s.clientCache.Client(ctx, id, s.readClient)
}

func (s *Store) readClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx,
		`SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	return c, dbErr("client", err)
}

// Clients lists every client, or those of ownerID when it is not "", oldest
// first (ties by id, byte order, as SQLite sorts).
func (s *Store) Clients(ctx context.Context, ownerID string) ([]store.Client, error) {
	q := `SELECT ` + clientColumns + ` FROM clients ORDER BY created_at, id COLLATE "C"`
	args := []any{}
	if ownerID != "" {
		q = `SELECT ` + clientColumns + ` FROM clients WHERE owner_id = $1 ORDER BY created_at, id COLLATE "C"`
		args = append(args, ownerID)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, dbErr("clients", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Client, error) { return scanClient(row) })
	if len(out) == 0 {
		out = nil
	}
	return out, dbErr("clients", err)
}

// UpdateClient replaces the name, redirect URIs, scopes, first-party and
// resource-server flags, post-logout redirect URIs, ID token algorithm and
// DPoP binding and financial-grade settings of client c.ID, and its UpdatedAt when c.UpdatedAt is set.
// Type, secret, disabled flag, owner and CreatedAt are left alone.
// ErrNotFound if the client does not exist.
func (s *Store) UpdateClient(ctx context.Context, c store.Client) error {
	defer s.clientSignal.changed()
	tag, err := s.pool.Exec(ctx,
		`UPDATE clients
		    SET name = $1, redirect_uris = $2, scopes = $3, first_party = $4, resource_server = $5,
		        updated_at = COALESCE($6, updated_at),
		        post_logout_redirect_uris = $8, id_token_signed_response_alg = $9,
		        dpop_bound_access_tokens = $10, token_endpoint_auth_method = $11, jwks = $12,
		        profile = $13, require_par = $14, refresh_token_rotation = $15,
		        refresh_token_grace_seconds = $16
		  WHERE id = $7`,
		c.Name, list(c.RedirectURIs), list(c.Scopes), c.FirstParty, c.ResourceServer, ts(c.UpdatedAt), c.ID,
		list(c.PostLogoutRedirectURIs), c.IDTokenSignedResponseAlg, c.DPoPBoundAccessTokens,
		c.TokenEndpointAuthMethod, c.JWKS, c.Profile, c.RequirePAR, c.RefreshTokenRotation,
		c.RefreshTokenGraceSeconds)
	return mustAffect("update client", tag, err)
}

// SetClientSecret replaces the secret hash of client id; ErrNotFound if the
// client does not exist.
func (s *Store) SetClientSecret(ctx context.Context, id, secretHash string, now time.Time) error {
	defer s.clientSignal.changed()
	tag, err := s.pool.Exec(ctx,
		`UPDATE clients SET secret_hash = $1, updated_at = $2 WHERE id = $3`,
		secretHash, ts(now), id)
	return mustAffect("set client secret", tag, err)
}

// SetClientDisabled disables or enables client id. Disabling revokes, in the
// same transaction, every grant the client holds, so its refresh tokens die
// and stay dead when it is enabled again.
func (s *Store) SetClientDisabled(ctx context.Context, id string, disabled bool, now time.Time) error {
	defer s.clientSignal.changed()
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			`UPDATE clients SET disabled = $1, updated_at = $2 WHERE id = $3`,
			disabled, ts(now), id)
		if err := mustAffect("set client disabled", tag, err); err != nil {
			return err
		}
		if !disabled {
			return nil
		}
		_, err = tx.Exec(ctx,
			`UPDATE grants SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL`,
			ts(now), id)
		return dbErr("revoke client grants", err)
	})
}

// DeleteClient removes client id; the schema's ON DELETE CASCADE removes its
// consents, codes, grants and refresh tokens with it. ErrNotFound if the
// client does not exist.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	defer s.clientSignal.changed()
	tag, err := s.pool.Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
	return mustAffect("delete client", tag, err)
}
