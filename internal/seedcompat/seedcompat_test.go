package seedcompat

import (
	"net/http/httptest"
	"slices"
	"testing"
)

// The endpoints' path classes: one per endpoint, a subtree where the path
// holds a user id or a token, so that none of them becomes a label.
func TestRoutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix string
		want   []string
	}{
		{Prefix, []string{"/v1/register-user", "/v1/token", "/v1/token_status/", "/v1/predict", "/v1/toggle-user-permission/", "/v1/remove-user/"}},
		{"", []string{"/register-user", "/token", "/token_status/", "/predict", "/toggle-user-permission/", "/remove-user/"}},
	}
	for _, tt := range tests {
		if got := Routes(tt.prefix); !slices.Equal(got, tt.want) {
			t.Errorf("Routes(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}

// A boolean path parameter reads as FastAPI (pydantic) read it.
func TestPathBool(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value   string
		want    bool
		refused bool
	}{
		{value: "true", want: true}, {value: "True", want: true}, {value: "1", want: true}, {value: "yes", want: true},
		{value: "Y", want: true}, {value: "on", want: true}, {value: "t", want: true},
		{value: "false"}, {value: "FALSE"}, {value: "0"}, {value: "no"}, {value: "n"}, {value: "off"}, {value: "f"},
		{value: "2", refused: true}, {value: "", refused: true}, {value: "enabled", refused: true}, {value: "truee", refused: true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("PUT", "/", nil)
		r.SetPathValue("permission", tt.value)
		got, err := pathBool(r, "permission")
		if (err != nil) != tt.refused || got != tt.want {
			t.Errorf("pathBool(%q) = %t, %v; want %t, refused %t", tt.value, got, err, tt.want, tt.refused)
		}
		if err != nil && (err.name != "permission" || err.kind != "type_error.bool") {
			t.Errorf("pathBool(%q) refused as %+v", tt.value, err)
		}
	}
}
