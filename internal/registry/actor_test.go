package registry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
)

var (
	developer = Actor{}
	admin     = ActorOf(store.User{ID: "usr_root", Admin: true})
)

// registryEnv is a fresh store for one case.
type registryEnv struct {
	ctx context.Context
	st  testenv.Backend
	h   *secret.Hasher
	now time.Time
}

func newRegistryEnv(t *testing.T) registryEnv {
	t.Helper()
	e := testenv.New(t, testenv.NoUser(), testenv.At(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)))
	return registryEnv{context.Background(), e.Store, e.Hasher, e.Now()}
}

// existing registers the client an update starts from, as the operator.
func (e registryEnv) existing(t *testing.T, s Spec) store.Client {
	t.Helper()
	c, _, err := Create(e.ctx, e.st, e.h, Operator, s, e.now)
	if err != nil {
		t.Fatalf("registering the client to edit: %v", err)
	}
	return c
}

func spec(scopes string) Spec {
	return Spec{Name: "App", RedirectURIs: []string{"https://app.example/cb"}, Scopes: scopes, OwnerID: "usr_ada"}
}

// TestAdminIsNeverSelfGranted is
// docs/security.md#admin-is-never-self-granted: scope values are split on
// whitespace before the check, and only an administrator (or the operator)
// can put admin on a client, on create and on update alike. A refused request
// changes nothing.
func TestAdminIsNeverSelfGranted(t *testing.T) {
	tests := []struct {
		name   string
		by     Actor
		old    *Spec // nil: create
		scopes string
		want   string // part of the refusal; "" for accepted
	}{
		{"one value with a space", developer, nil, "read admin", "only administrators may enable the admin scope"},
		{"trailing space", developer, nil, "admin ", "only administrators may enable the admin scope"},
		{"leading tab", developer, nil, "\tadmin", "only administrators may enable the admin scope"},
		{"newline", developer, nil, "read\nadmin", "only administrators may enable the admin scope"},
		{"plain admin", developer, nil, "admin", "only administrators may enable the admin scope"},
		{"glued with a comma", developer, nil, "read,admin", `unknown scope "read,admin"`},
		{"developer without admin", developer, nil, "read trade", ""},
		{"administrator", admin, nil, "read admin", ""},
		{"operator", Operator, nil, " admin\t", ""},

		{"developer adds admin on update", developer, &Spec{Scopes: "read"}, "read admin", "only administrators may enable the admin scope"},
		{"developer adds admin with a trailing space", developer, &Spec{Scopes: "read"}, "read admin ", "only administrators may enable the admin scope"},
		{"developer keeps admin on update", developer, &Spec{Scopes: "read admin"}, "read admin", "only administrators may enable the admin scope"},
		{"developer takes admin off", developer, &Spec{Scopes: "read admin"}, "read", ""},
		{"administrator adds admin on update", admin, &Spec{Scopes: "read"}, "read admin", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRegistryEnv(t)
			var before []store.Client
			var got store.Client
			var err error
			if tt.old == nil {
				got, _, err = Create(e.ctx, e.st, e.h, tt.by, spec(tt.scopes), e.now)
			} else {
				old := e.existing(t, spec(tt.old.Scopes))
				before = []store.Client{old}
				got, err = Update(e.ctx, e.st, tt.by, old, spec(tt.scopes), e.now.Add(time.Hour))
			}
			stored, lerr := e.st.Clients(e.ctx, "")
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tt.want != "" {
				if _, ok := errors.AsType[*Refusal](err); !ok || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got error %v, want a *Refusal mentioning %q", err, tt.want)
				}
				if diff := cmp.Diff(before, stored); diff != "" {
					t.Errorf("a refused request changed the store (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want it accepted", err)
			}
			if len(stored) != 1 || !cmp.Equal(stored[0].Scopes, got.Scopes) {
				t.Errorf("stored %+v, want the returned client %+v", stored, got)
			}
		})
	}
}

// TestAdministratorSettings covers the settings only an administrator
// changes (first-party, resource server) and
// docs/security.md#first-party-clients-are-confidential, on create and on
// update.
func TestAdministratorSettings(t *testing.T) {
	confidential := spec("read")
	public := spec("read")
	public.Public = true
	firstParty := spec("read")
	firstParty.FirstParty = true
	resourceServer := spec("read")
	resourceServer.ResourceServer = true

	tests := []struct {
		name     string
		by       Actor
		old      *Spec // nil: create
		firstP   bool
		rs       bool
		public   bool // create only
		want     string
		wantFP   bool
		wantRS   bool
		wantType store.ClientType
	}{
		{"public first-party by the operator", Operator, nil, true, false, true, "a public client cannot be first-party", false, false, ""},
		{"public first-party by an administrator", admin, nil, true, false, true, "a public client cannot be first-party", false, false, ""},
		{"confidential first-party by the operator", Operator, nil, true, false, false, "", true, false, store.Confidential},
		{"first-party by a developer", developer, nil, true, false, false, "only administrators may mark a client first-party", false, false, ""},
		{"resource server by a developer", developer, nil, false, true, false, "only administrators may mark a client as a resource server", false, false, ""},
		{"resource server by an administrator", admin, nil, false, true, false, "", false, true, store.Confidential},
		{"public resource server", Operator, nil, false, true, true, "", false, true, store.Public},

		{"public client made first-party", Operator, &public, true, false, false, "a public client cannot be first-party", false, false, ""},
		{"confidential client made first-party", admin, &confidential, true, false, false, "", true, false, store.Confidential},
		{"developer keeps first-party", developer, &firstParty, true, false, false, "", true, false, store.Confidential},
		{"developer clears first-party", developer, &firstParty, false, false, false, "only administrators may mark a client first-party", false, false, ""},
		{"developer makes a resource server", developer, &confidential, false, true, false, "only administrators may mark a client as a resource server", false, false, ""},
		{"developer keeps a resource server", developer, &resourceServer, false, true, false, "", false, true, store.Confidential},
		{"administrator clears a resource server", admin, &resourceServer, false, false, false, "", false, false, store.Confidential},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRegistryEnv(t)
			s := spec("read")
			s.FirstParty, s.ResourceServer, s.Public = tt.firstP, tt.rs, tt.public
			var before []store.Client
			var err error
			if tt.old == nil {
				_, _, err = Create(e.ctx, e.st, e.h, tt.by, s, e.now)
			} else {
				old := e.existing(t, *tt.old)
				before = []store.Client{old}
				_, err = Update(e.ctx, e.st, tt.by, old, s, e.now.Add(time.Hour))
			}
			stored, lerr := e.st.Clients(e.ctx, "")
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tt.want != "" {
				if _, ok := errors.AsType[*Refusal](err); !ok || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got error %v, want a *Refusal mentioning %q", err, tt.want)
				}
				if diff := cmp.Diff(before, stored); diff != "" {
					t.Errorf("a refused request changed the store (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want it accepted", err)
			}
			if len(stored) != 1 {
				t.Fatalf("got %d clients, want 1", len(stored))
			}
			got := stored[0]
			if got.FirstParty != tt.wantFP || got.ResourceServer != tt.wantRS || got.Type != tt.wantType {
				t.Errorf("got first-party %t, resource server %t, type %s; want %t, %t, %s",
					got.FirstParty, got.ResourceServer, got.Type, tt.wantFP, tt.wantRS, tt.wantType)
			}
		})
	}
}
