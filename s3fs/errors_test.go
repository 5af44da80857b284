package s3fs

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver"
)

func TestClassify(t *testing.T) {
	t.Parallel()

	responseError := func(status int) error {
		return &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      errors.New("no body"),
		}
	}

	tests := []struct {
		name string
		err  error
		want error // nil: returned as it is
	}{
		{"NoSuchKey", &smithy.GenericAPIError{Code: "NoSuchKey"}, fs.ErrNotExist},
		{"HEAD 404", &smithy.GenericAPIError{Code: "NotFound"}, fs.ErrNotExist},
		{"NoSuchBucket", &smithy.GenericAPIError{Code: "NoSuchBucket"}, fs.ErrNotExist},
		{"AccessDenied", &smithy.GenericAPIError{Code: "AccessDenied"}, fs.ErrPermission},
		{"HEAD 403", &smithy.GenericAPIError{Code: "Forbidden"}, fs.ErrPermission},
		{"bad signature", &smithy.GenericAPIError{Code: "SignatureDoesNotMatch"}, fs.ErrPermission},
		{"unknown key", &smithy.GenericAPIError{Code: "InvalidAccessKeyId"}, fs.ErrPermission},
		{"archived", &smithy.GenericAPIError{Code: "InvalidObjectState"}, fs.ErrPermission},
		{"too large", &smithy.GenericAPIError{Code: "EntityTooLarge"}, ftpserver.ErrStorageExceeded},
		{"Ceph quota", &smithy.GenericAPIError{Code: "QuotaExceeded"}, ftpserver.ErrStorageExceeded},
		{"If-Match", &smithy.GenericAPIError{Code: "PreconditionFailed"}, ErrObjectChanged},
		{"wrapped", fmt.Errorf("operation: %w", &smithy.GenericAPIError{Code: "NoSuchKey"}), fs.ErrNotExist},
		{"status 404 without code", responseError(http.StatusNotFound), fs.ErrNotExist},
		{"status 403 without code", responseError(http.StatusForbidden), fs.ErrPermission},
		{"status 500", responseError(http.StatusInternalServerError), nil},
		{"other code", &smithy.GenericAPIError{Code: "SlowDown"}, nil},
		{"not from S3", errors.New("plain"), nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got := classify(tt.err)
			if tt.want == nil {
				assert.Equal(t, tt.err, got)

				return
			}

			require.ErrorIs(t, got, tt.want)
			require.ErrorIs(t, got, tt.err, "the S3 error stays reachable")
			assert.Equal(t, tt.err.Error(), got.Error())
		})
	}
}

func TestPathError(t *testing.T) {
	t.Parallel()

	require.NoError(t, pathError("stat", "/x", nil))

	err := pathError("stat", "/x", &smithy.GenericAPIError{Code: "NoSuchKey"})

	var pathErr *fs.PathError
	require.ErrorAs(t, err, &pathErr)
	assert.Equal(t, "stat", pathErr.Op)
	assert.Equal(t, "/x", pathErr.Path)
	require.ErrorIs(t, err, fs.ErrNotExist)

	assert.Same(t, err, pathError("open", "/y", err), "a path error is not wrapped twice")

	deleteErr := &deleteError{key: "k", code: "AccessDenied", message: "no"}
	require.ErrorIs(t, deleteErr, fs.ErrPermission)
	assert.Equal(t, "deleting k: AccessDenied: no", deleteErr.Error())
}

func TestClean(t *testing.T) {
	t.Parallel()

	for name, want := range map[string]string{
		"":          "",
		"/":         "",
		".":         "",
		"/a":        "a",
		"a/":        "a",
		"/a//b/./c": "a/b/c",
		"/../../a":  "a",
		"/a/../b":   "b",
	} {
		assert.Equal(t, want, clean(name), name)
	}

	f := New(nil, "bucket", Options{Prefix: "p"})
	assert.Equal(t, "p/a/b", f.objectKey("a/b"))
	assert.Equal(t, "p/a/b/", f.dirPrefix("a/b"))
	assert.Equal(t, "p/", f.dirPrefix(""))
	assert.Equal(t, "bucket/p/a%20b/c%3F", f.copySource("p/a b/c?"))
}

// FuzzClean checks that no name maps to a key outside the Fs: clean never returns a path that
// starts or ends with "/", holds an empty, "." or ".." element, or changes when cleaned again.
func FuzzClean(f *testing.F) {
	for _, seed := range []string{"", "/", "a/b", "../..", "/a//b/", "a/./b/../c", "..a/b..", "\\..\\x"} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, name string) {
		rel := clean(name)
		if rel == "" {
			return
		}

		require.Equal(t, rel, clean(rel))
		require.False(t, strings.HasPrefix(rel, "/") || strings.HasSuffix(rel, "/"), rel)

		for _, element := range strings.Split(rel, "/") {
			require.NotContains(t, []string{"", ".", ".."}, element, rel)
		}
	})
}
