package s3fs

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/ftpkit/ftpserver/s3fs/s3test"
)

// newTestClient returns a client of endpoint made by NewClient, signing with the gateway's
// access key and secret.
func newTestClient(t *testing.T, endpoint, secret string) *s3.Client {
	t.Helper()

	client, err := NewClient(context.Background(), ClientOptions{
		Endpoint:    endpoint,
		Region:      DefaultRegion,
		PathStyle:   true,
		Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, secret, ""),
	})
	require.NoError(t, err)

	return client
}

// newTestFs starts a gateway, creates a bucket and returns an Fs on it.
func newTestFs(t *testing.T, opts Options) (*Fs, *s3test.Gateway, string) {
	t.Helper()

	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)

	return New(newTestClient(t, gw.Endpoint, s3test.SecretKey), bucket, opts), gw, bucket
}
