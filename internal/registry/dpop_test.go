package registry

import "testing"

// TestDPoPBound: dpop_bound_access_tokens is the app's own choice (RFC
// 9449 section 5.2): its owner sets and clears it like the operator, on
// create and update.
func TestDPoPBound(t *testing.T) {
	for _, by := range []struct {
		name  string
		actor Actor
	}{{"developer", developer}, {"administrator", admin}, {"operator", Operator}} {
		t.Run(by.name, func(t *testing.T) {
			e := newRegistryEnv(t)
			s := spec("read")
			s.DPoPBound = true
			c, _, err := Create(e.ctx, e.st, e.h, by.actor, s, e.now)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			stored, err := e.st.Client(e.ctx, c.ID)
			if err != nil || !stored.DPoPBoundAccessTokens {
				t.Fatalf("created client: %+v, %v; want DPoP-bound", stored, err)
			}
			s.DPoPBound = false
			if _, err := Update(e.ctx, e.st, by.actor, stored, s, e.now); err != nil {
				t.Fatalf("Update: %v", err)
			}
			if stored, _ = e.st.Client(e.ctx, c.ID); stored.DPoPBoundAccessTokens {
				t.Error("the update did not clear it")
			}
			if View(stored, "").DPoPBoundAccessTokens {
				t.Error("View shows it set")
			}
		})
	}
}
