package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// CreateClient stores c; ErrConflict if its id is taken.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	done, err := s.clientSignal.Change()
	if err != nil {
		return err
	}
	defer done()
	_, err = s.exec(ctx,
		`INSERT INTO clients (id, name, type, first_party, secret_hash, redirect_uris, scopes,
		                      disabled, owner_id, resource_server, created_at, updated_at,
		                      post_logout_redirect_uris, id_token_signed_response_alg,
		                      dpop_bound_access_tokens, token_endpoint_auth_method, jwks,
		                      profile, require_par, refresh_token_rotation,
		                      refresh_token_grace_seconds)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, string(c.Type), boolInt(c.FirstParty), c.SecretHash,
		list(c.RedirectURIs), list(c.Scopes), boolInt(c.Disabled), c.OwnerID,
		boolInt(c.ResourceServer), ms(c.CreatedAt), ms(c.UpdatedAt),
		list(c.PostLogoutRedirectURIs), c.IDTokenSignedResponseAlg,
		boolInt(c.DPoPBoundAccessTokens), c.TokenEndpointAuthMethod, c.JWKS,
		c.Profile, boolInt(c.RequirePAR), c.RefreshTokenRotation,
		c.RefreshTokenGraceSeconds)
	return dbErr("create client", err)
}

const clientColumns = `id, name, type, first_party, secret_hash, redirect_uris, scopes,
	disabled, owner_id, resource_server, created_at, updated_at,
	post_logout_redirect_uris, id_token_signed_response_alg,
	dpop_bound_access_tokens, token_endpoint_auth_method, jwks,
	profile, require_par, refresh_token_rotation, refresh_token_grace_seconds`

const clientByID = `SELECT ` + clientColumns + ` FROM clients WHERE id = ?`

func scanClient(row scanner) (store.Client, error) {
	var c store.Client
	var typ, uris, scopes, logoutURIs string
	var created, updated sql.NullInt64
	err := row.Scan(&c.ID, &c.Name, &typ, &c.FirstParty, &c.SecretHash, &uris, &scopes,
		&c.Disabled, &c.OwnerID, &c.ResourceServer, &created, &updated,
		&logoutURIs, &c.IDTokenSignedResponseAlg,
		&c.DPoPBoundAccessTokens, &c.TokenEndpointAuthMethod, &c.JWKS,
		&c.Profile, &c.RequirePAR, &c.RefreshTokenRotation, &c.RefreshTokenGraceSeconds)
	if err != nil {
		return store.Client{}, err
	}
	c.Type = store.ClientType(typ)
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	if c.RedirectURIs, err = fromList(uris); err != nil {
		return store.Client{}, err
	}
	if c.Scopes, err = fromList(scopes); err != nil {
		return store.Client{}, err
	}
	if c.PostLogoutRedirectURIs, err = fromList(logoutURIs); err != nil {
		return store.Client{}, err
	}
	return c, nil
}

// Client returns the client with id, or ErrNotFound, from the cache when no
// client changed since it was read (package clientcache).
func (s *Store) Client(ctx context.Context, id string) (store.Client, error) {
	return s.clientCache.Client(ctx, id, s.readClient)
}

func (s *Store) readClient(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(s.hot.clientByID.QueryRowContext(ctx, id))
	return c, dbErr("client", err)
}

// Clients lists every client, or those of ownerID when it is not "", oldest
// first.
func (s *Store) Clients(ctx context.Context, ownerID string) ([]store.Client, error) {
	q := `SELECT ` + clientColumns + ` FROM clients ORDER BY created_at, id`
	args := []any{}
	if ownerID != "" {
		q = `SELECT ` + clientColumns + ` FROM clients WHERE owner_id = ? ORDER BY created_at, id`
		args = append(args, ownerID)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr("clients", err)
	}
	defer rows.Close()
	var out []store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, dbErr("clients", err)
		}
		out = append(out, c)
	}
	return out, dbErr("clients", rows.Err())
}

// UpdateClient replaces the name, redirect URIs, scopes, first-party and
// resource-server flags, post-logout redirect URIs, ID token algorithm and
// DPoP binding and financial-grade settings of client c.ID, and its UpdatedAt when c.UpdatedAt is set.
// Type, secret, disabled flag, owner and CreatedAt are left alone.
// ErrNotFound if the client does not exist.
func (s *Store) UpdateClient(ctx context.Context, c store.Client) error {
	done, err := s.clientSignal.Change()
	if err != nil {
		return err
	}
	defer done()
	res, err := s.exec(ctx,
		`UPDATE clients
		    SET name = ?, redirect_uris = ?, scopes = ?, first_party = ?, resource_server = ?,
		        updated_at = COALESCE(?, updated_at),
		        post_logout_redirect_uris = ?, id_token_signed_response_alg = ?,
		        dpop_bound_access_tokens = ?, token_endpoint_auth_method = ?, jwks = ?,
		        profile = ?, require_par = ?, refresh_token_rotation = ?,
		        refresh_token_grace_seconds = ?
		  WHERE id = ?`,
		c.Name, list(c.RedirectURIs), list(c.Scopes), boolInt(c.FirstParty), boolInt(c.ResourceServer),
		ms(c.UpdatedAt), list(c.PostLogoutRedirectURIs), c.IDTokenSignedResponseAlg,
		boolInt(c.DPoPBoundAccessTokens), c.TokenEndpointAuthMethod, c.JWKS,
		c.Profile, boolInt(c.RequirePAR), c.RefreshTokenRotation,
		c.RefreshTokenGraceSeconds, c.ID)
	return mustAffect("update client", res, err)
}

// SetClientSecret replaces the secret hash of client id; ErrNotFound if the
// client does not exist.
func (s *Store) SetClientSecret(ctx context.Context, id, secretHash string, now time.Time) error {
	done, err := s.clientSignal.Change()
	if err != nil {
		return err
	}
	defer done()
	res, err := s.exec(ctx,
		`UPDATE clients SET secret_hash = ?, updated_at = ? WHERE id = ?`,
		secretHash, ms(now), id)
	return mustAffect("set client secret", res, err)
}

// SetClientDisabled disables or enables client id. Disabling revokes, in the
// same transaction, every grant the client holds, so its refresh tokens die
// and stay dead when it is enabled again.
func (s *Store) SetClientDisabled(ctx context.Context, id string, disabled bool, now time.Time) error {
	done, err := s.clientSignal.Change()
	if err != nil {
		return err
	}
	defer done()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE clients SET disabled = ?, updated_at = ? WHERE id = ?`,
			boolInt(disabled), ms(now), id)
		if err := mustAffect("set client disabled", res, err); err != nil {
			return err
		}
		if !disabled {
			return nil
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE grants SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL`,
			ms(now), id)
		return dbErr("revoke client grants", err)
	})
}

// DeleteClient removes client id; the schema's ON DELETE CASCADE removes its
// consents, codes, grants and refresh tokens with it. ErrNotFound if the
// client does not exist.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	done, err := s.clientSignal.Change()
	if err != nil {
		return err
	}
	defer done()
	res, err := s.exec(ctx, `DELETE FROM clients WHERE id = ?`, id)
	return mustAffect("delete client", res, err)
}
