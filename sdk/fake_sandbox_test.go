package aries_test

import (
	"encoding/json"
	"net/http"
)

// sandbox mounts fixed answers of the sandbox API, shaped as the server's,
// so that examples print the same output every time.
func (f *fakeAries) sandbox(mux *http.ServeMux) {
	fixed := func(status int, body string) http.HandlerFunc {
		return f.protected(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(body))
		})
	}
	mux.Handle("GET /v1/users/me", fixed(200, `{"id":"usr_7Hq2","email":"trader@example.com","created_at":"2026-11-02T09:30:00Z"}`))
	mux.Handle("GET /v1/users/me/profile", fixed(200, `{"id":"usr_7Hq2","email":"trader@example.com","display_name":"Ada","phone":"","created_at":"2026-11-02T09:30:00Z","updated_at":null}`))
	mux.Handle("PATCH /v1/users/me", f.protected(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			DisplayName *string `json:"display_name"`
			Phone       *string `json:"phone"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		p := map[string]any{"id": "usr_7Hq2", "email": "trader@example.com", "display_name": "Ada", "phone": "",
			"created_at": "2026-11-02T09:30:00Z", "updated_at": "2026-11-20T10:00:00Z"}
		if in.DisplayName != nil {
			p["display_name"] = *in.DisplayName
		}
		if in.Phone != nil {
			p["phone"] = *in.Phone
		}
		writeJSON(w, http.StatusOK, p)
	}))
	mux.Handle("GET /v1/users/me/accounts", fixed(200, `{"accounts":[{"id":"acc_9fK1","type":"paper","currency":"USD","status":"active","created_at":"2026-11-02T09:30:00Z"}]}`))
	mux.Handle("GET /v1/accounts/acc_9fK1/balances", fixed(200, `{"account_id":"acc_9fK1","currency":"USD","cash":"98512.50","positions_value":"1487.50","equity":"100000.00","buying_power":"98512.50"}`))
	mux.Handle("GET /v1/accounts/acc_9fK1/positions", fixed(200, `{"account_id":"acc_9fK1","positions":[{"symbol":"AAPL","quantity":10,"cost_basis":"1487.50","price":"148.75","market_value":"1487.50","unrealized_pl":"0.00"}]}`))
	mux.Handle("POST /v1/orders", fixed(201, `{"id":"ord_3xP0","account_id":"acc_9fK1","symbol":"AAPL","side":"buy","type":"market","quantity":10,"limit_price":null,"status":"filled","filled_price":"148.75","created_at":"2026-11-20T10:00:00Z","updated_at":"2026-11-20T10:00:00Z","filled_at":"2026-11-20T10:00:00Z","cancelled_at":null}`))
	mux.Handle("PUT /v1/orders", fixed(200, `{"id":"ord_4Lm8","account_id":"acc_9fK1","symbol":"MSFT","side":"buy","type":"limit","quantity":5,"limit_price":"120.00","status":"open","filled_price":null,"created_at":"2026-11-20T10:00:00Z","updated_at":"2026-11-20T10:05:00Z","filled_at":null,"cancelled_at":null}`))
	mux.Handle("DELETE /v1/orders", fixed(200, `{"id":"ord_4Lm8","account_id":"acc_9fK1","symbol":"MSFT","side":"buy","type":"limit","quantity":5,"limit_price":"120.00","status":"cancelled","filled_price":null,"created_at":"2026-11-20T10:00:00Z","updated_at":"2026-11-20T10:06:00Z","filled_at":null,"cancelled_at":"2026-11-20T10:06:00Z"}`))
	mux.Handle("GET /v2/accounts/acc_9fK1/orders", fixed(200, `{"orders":[{"id":"ord_3xP0","account_id":"acc_9fK1","symbol":"AAPL","side":"buy","type":"market","quantity":10,"limit_price":null,"status":"filled","filled_price":"148.75","created_at":"2026-11-20T10:00:00Z","updated_at":"2026-11-20T10:00:00Z","filled_at":"2026-11-20T10:00:00Z","cancelled_at":null}]}`))
	mux.Handle("POST /v1/accounts/acc_9fK1/withdrawals", fixed(201, `{"id":"wd_5Tn2","account_id":"acc_9fK1","amount":"250.00","status":"completed","created_at":"2026-11-20T10:10:00Z"}`))
}
