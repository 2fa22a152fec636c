package registry

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/testenv"
)

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	created := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	e := testenv.New(t, testenv.NoUser(), testenv.At(created))
	st, h := e.Store, e.Hasher
	c, _, err := Create(ctx, st, h, Operator, Spec{Name: "Before", RedirectURIs: []string{"https://a.example/cb"}, Scopes: "read", OwnerID: "usr_ada"}, created)
	if err != nil {
		t.Fatal(err)
	}

	_, err = Update(ctx, st, Operator, c, Spec{Name: "After", RedirectURIs: []string{"http://a.example/cb"}, Scopes: "trade"}, created.Add(time.Hour))
	if err == nil || !strings.Contains(err.Error(), "use https") {
		t.Fatalf("Update with an http redirect URI: %v, want the registry's refusal", err)
	}
	if got, _ := st.Client(ctx, c.ID); got.Name != "Before" {
		t.Errorf("a refused update changed the client: %+v", got)
	}

	later := created.Add(2 * time.Hour)
	got, err := Update(ctx, st, Operator, c, Spec{Name: " After ", Public: true, FirstParty: true, OwnerID: "usr_bob",
		RedirectURIs: []string{"com.example.app:/cb"}, Scopes: "trade withdraw"}, later)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.Client(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := c
	want.Name, want.FirstParty, want.RedirectURIs = "After", true, []string{"com.example.app:/cb"}
	want.Scopes = []string{"order:execution", "funds:withdrawal"}
	want.UpdatedAt = later
	// Type, secret, owner and creation time are not an edit's to change.
	for name, c := range map[string]store.Client{"returned": got, "stored": stored} {
		if diff := cmp.Diff(want, c, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("%s client (-want +got):\n%s", name, diff)
		}
	}
}

func TestSpecLimitsRedirectURIs(t *testing.T) {
	uris := make([]string, MaxRedirectURIs+1)
	for i := range uris {
		uris[i] = "https://a.example/cb" + strings.Repeat("x", i)
	}
	_, err := Spec{Name: "A", RedirectURIs: uris, Scopes: "read"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "at most 20") {
		t.Errorf("Validate with %d redirect URIs: %v, want a refusal", len(uris), err)
	}
	if _, err := (Spec{Name: "A", RedirectURIs: uris[:MaxRedirectURIs], Scopes: "read"}).Validate(); err != nil {
		t.Errorf("Validate with %d redirect URIs: %v, want it accepted", MaxRedirectURIs, err)
	}
}
