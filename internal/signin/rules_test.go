package signin

import (
	"context"
	"errors"
	"testing"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/internal/store"
)

func TestDefaultScope(t *testing.T) {
	tests := []struct {
		enabled []string
		want    string
	}{
		{[]string{"user:information", "order:execution"}, "user:information order:execution"},
		{[]string{"admin", "user:information"}, "user:information"},
		{[]string{"admin"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := DefaultScope(store.Client{Scopes: tt.enabled}); got != tt.want {
			t.Errorf("DefaultScope(%v) = %q, want %q", tt.enabled, got, tt.want)
		}
	}
}

// owners is a fixed set of users, or a store that fails.
type owners struct {
	users map[string]store.User
	err   error
}

func (o owners) UserByID(_ context.Context, id string) (store.User, error) {
	if o.err != nil {
		return store.User{}, o.err
	}
	u, ok := o.users[id]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return u, nil
}

func TestCheckClientAdmin(t *testing.T) {
	known := owners{users: map[string]store.User{
		"usr_root": {ID: "usr_root", Admin: true},
		"usr_ada":  {ID: "usr_ada"},
	}}
	outage := errors.New("database unreachable")
	admin := []string{scope.UserInformation, scope.Admin}
	tests := []struct {
		name   string
		owners owners
		scopes []string
		client store.Client
		want   string // "" accepted, an OAuth error code, or "store" for the store's error
	}{
		{"made with the CLI", known, admin, store.Client{OwnerID: ""}, ""},
		{"owned by an administrator", known, admin, store.Client{OwnerID: "usr_root"}, ""},
		{"marked first-party", known, admin, store.Client{OwnerID: "usr_ada", FirstParty: true}, ""},
		{"owned by a developer", known, admin, store.Client{OwnerID: "usr_ada"}, oauth.InvalidScope},
		{"owner deleted", known, admin, store.Client{OwnerID: "usr_gone"}, oauth.InvalidScope},
		{"no admin asked", known, []string{scope.UserInformation}, store.Client{OwnerID: "usr_ada"}, ""},
		{"store down", owners{err: outage}, admin, store.Client{OwnerID: "usr_ada"}, "store"},
		{"store down, no owner needed", owners{err: outage}, admin, store.Client{OwnerID: ""}, ""},
	}
	for _, tt := range tests {
		err := CheckClientAdmin(context.Background(), tt.owners, tt.scopes, tt.client)
		got := ""
		if oe, ok := errors.AsType[*oauth.Error](err); ok {
			got = oe.Code
		} else if errors.Is(err, outage) {
			got = "store"
		} else if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: got %q (%v), want %q", tt.name, got, err, tt.want)
		}
	}
}
