package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"

	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/sdk/protocol"
)

func toAccount(a ledger.Account) protocol.Account {
	return protocol.Account{ID: a.ID, Type: "paper", Currency: a.Currency, Status: "active", CreatedAt: a.CreatedAt.UTC()}
}

// Accounts serves GET /v1/users/me/accounts (the SDK's
// users.get_user_accounts). A user's first call opens their paper account.
func (a *API) Accounts(w http.ResponseWriter, r *http.Request) {
	userID, ok := a.user(w, r)
	if !ok {
		return
	}
	accounts, err := a.Ledger.Accounts(r.Context(), userID)
	if err == nil && len(accounts) == 0 {
		var acc ledger.Account
		acc, err = a.account(r, userID)
		accounts = []ledger.Account{acc}
	}
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	out := protocol.AccountList{Accounts: []protocol.Account{}}
	for _, acc := range accounts {
		out.Accounts = append(out.Accounts, toAccount(acc))
	}
	writeJSON(w, http.StatusOK, out)
}

// Balances serves GET /v1/accounts/{id}/balances. Positions are valued at
// the simulated price.
func (a *API) Balances(w http.ResponseWriter, r *http.Request) {
	userID, ok := a.user(w, r)
	if !ok {
		return
	}
	acc, ok := a.ownAccount(w, r, userID)
	if !ok {
		return
	}
	positions, err := a.Ledger.Positions(r.Context(), userID, acc.ID)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	var value int64
	for _, p := range positions {
		value += p.Quantity * Price(p.Symbol)
	}
	writeJSON(w, http.StatusOK, protocol.Balances{
		AccountID: acc.ID, Currency: acc.Currency, Cash: protocol.Cents(acc.Cash), PositionsValue: protocol.Cents(value),
		Equity: protocol.Cents(acc.Cash + value), BuyingPower: protocol.Cents(acc.Cash),
	})
}

// Positions serves GET /v1/accounts/{id}/positions.
func (a *API) Positions(w http.ResponseWriter, r *http.Request) {
	userID, ok := a.user(w, r)
	if !ok {
		return
	}
	acc, ok := a.ownAccount(w, r, userID)
	if !ok {
		return
	}
	positions, err := a.Ledger.Positions(r.Context(), userID, acc.ID)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	out := protocol.PositionList{AccountID: acc.ID, Positions: []protocol.Position{}}
	for _, p := range positions {
		price := Price(p.Symbol)
		out.Positions = append(out.Positions, protocol.Position{
			Symbol: p.Symbol, Quantity: p.Quantity, CostBasis: protocol.Cents(p.Cost), Price: protocol.Cents(price),
			MarketValue: protocol.Cents(p.Quantity * price), UnrealizedPL: protocol.Cents(p.Quantity*price - p.Cost),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// Withdraw serves POST /v1/accounts/{id}/withdrawals: {"amount":"250.00"}.
// The cash must cover it (422 insufficient_funds otherwise).
func (a *API) Withdraw(w http.ResponseWriter, r *http.Request) {
	userID, ok := a.user(w, r)
	if !ok {
		return
	}
	key, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	var req protocol.WithdrawalRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Amount <= 0 {
		writeError(w, http.StatusBadRequest, oauth.InvalidRequest, `amount is required: a positive decimal such as "250.00"`)
		return
	}
	accountID := r.PathValue("id")
	if !knownID(w, r, a, accountID) {
		return
	}
	hash := fingerprint("withdrawal", accountID, strconv.FormatInt(int64(req.Amount), 10))
	wd, err := a.Ledger.Withdraw(r.Context(), ledger.Withdrawal{
		ID: secret.ID("wd_"), AccountID: accountID, UserID: userID, Amount: int64(req.Amount),
		IdempotencyKey: key, RequestHash: hash, CreatedAt: a.now(),
	})
	if errors.Is(err, ledger.ErrIdempotentReplay) {
		if wd.RequestHash != hash {
			writeError(w, http.StatusUnprocessableEntity, protocol.ErrIdempotencyKeyReused, "this Idempotency-Key was used for a different withdrawal")
			return
		}
		w.Header().Set("Idempotent-Replayed", "true")
	} else if err != nil {
		a.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, protocol.Withdrawal{
		ID: wd.ID, AccountID: wd.AccountID, Amount: protocol.Cents(wd.Amount), Status: "completed", CreatedAt: wd.CreatedAt.UTC(),
	})
}

// idempotencyKey reads the Idempotency-Key header (IETF draft
// "The Idempotency-Key HTTP Header Field"): "" when absent; at most 255
// visible ASCII characters otherwise.
func idempotencyKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	values := r.Header.Values("Idempotency-Key")
	if len(values) == 0 {
		return "", true
	}
	key := values[0]
	valid := len(values) == 1 && key != "" && len(key) <= 255
	for i := 0; valid && i < len(key); i++ {
		valid = key[i] > 0x20 && key[i] < 0x7f
	}
	if !valid {
		writeError(w, http.StatusBadRequest, oauth.InvalidRequest, "Idempotency-Key must be one header of 1 to 255 visible ASCII characters")
		return "", false
	}
	return key, true
}

// fingerprint identifies a request by what it asks for, so a retry under an
// Idempotency-Key can be told from a different request reusing the key.
func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}
