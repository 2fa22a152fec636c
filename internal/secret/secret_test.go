package secret

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestNewIsPrefixedAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := New(ClientSecretPrefix)
		if !strings.HasPrefix(s, ClientSecretPrefix) || len(s) != len(ClientSecretPrefix)+43 {
			t.Fatalf("New = %q, want the prefix and 43 base64url characters (256 bits)", s)
		}
		if seen[s] {
			t.Fatal("New repeated itself")
		}
		seen[s] = true
	}
}

func TestHasherVerifies(t *testing.T) {
	h := NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	other := NewHasher([]byte("fedcba9876543210fedcba9876543210"))
	s := New(RefreshPrefix)
	stored := h.Hash(s)
	if strings.Contains(stored, s[len(RefreshPrefix):]) || !strings.HasPrefix(stored, "h1$") {
		t.Errorf("stored form %q: want a versioned hash that does not contain the secret", stored)
	}
	if !h.Verify(s, stored) {
		t.Error("the secret does not verify against its own hash")
	}
	if h.Verify(s+"x", stored) || h.Verify("", stored) || other.Verify(s, stored) {
		t.Error("a wrong secret or another pepper verifies")
	}
}

func TestParseMaster(t *testing.T) {
	_, encoded := NewMaster()
	m, err := ParseMaster(encoded + "\n")
	if err != nil {
		t.Fatalf("ParseMaster of a generated secret: %v", err)
	}
	if string(m.Derive("a")) == string(m.Derive("b")) || len(m.Derive("a")) != 32 {
		t.Error("derived keys must be 32 bytes and differ by purpose")
	}
	for _, bad := range []string{"", "short", "dG9vIHNob3J0"} {
		if _, err := ParseMaster(bad); err == nil {
			t.Errorf("ParseMaster(%q) accepted a weak secret", bad)
		}
	}
}

// TestKeysAreStable pins the derived keys of one root secret: a changed
// derivation label would make every stored hash, signing key, TOTP secret
// and grace copy of a refresh token unreadable.
func TestKeysAreStable(t *testing.T) {
	m, err := ParseMaster("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=") // bytes 0..31
	if err != nil {
		t.Fatal(err)
	}
	k := m.Keys()
	for _, tt := range []struct {
		name      string
		got, want string
	}{
		{"Pepper", hex.EncodeToString(k.Pepper), "82caddf02075d49ee7182d31f69ef9ceff4f9946670b406e54067acbde6f242d"},
		{"KeyEncryption", hex.EncodeToString(k.KeyEncryption), "d2505bb012fe0f243184795b80f9a015ee73a967f39cf036942423f416b1440f"},
		{"TOTPEncryption", hex.EncodeToString(k.TOTPEncryption), "cca96faffb08247e2008fbfd97fdf46eb150836f882879d3e546ea66db0be661"},
		{"RefreshGrace", hex.EncodeToString(k.RefreshGrace), "6bbd07aa8750497acdf4dd5e89723b7b3e2010c0f534cccabe6a8eed31fa0f01"},
	} {
		if tt.got != tt.want {
			t.Errorf("Keys().%s = %s, want %s", tt.name, tt.got, tt.want)
		}
	}
	if s := New(RefreshPrefix); m.Hasher().Hash(s) != NewHasher(k.Pepper).Hash(s) {
		t.Error("Hasher() is not keyed by Keys().Pepper")
	}
}
