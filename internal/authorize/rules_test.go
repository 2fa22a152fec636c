package authorize

import (
	"testing"

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
