package s3fs

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
)

func TestReaddirAhead(t *testing.T) {
	t.Parallel()

	const files = 20

	f, gw, bucket := newTestFs(t, Options{MaxKeys: 3})

	var want []string

	for i := range files {
		name := fmt.Sprintf("f%02d", i)
		want = append(want, name)
		_, err := gw.Client.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("d/" + name), Body: strings.NewReader(name),
		})
		require.NoError(t, err)
	}

	// Whatever the batch, against pages of 3 requested ahead: every entry once, in order.
	for _, batch := range []int{1, 2, 3, 4, 7, files + 5} {
		dir := openDir(t, f)
		require.Equal(t, want, readAllNames(t, dir, batch), "batches of %d", batch)
		require.Nil(t, dir.ahead, "nothing is requested past the last page")
		require.NoError(t, dir.Close())
	}

	// One name, as a check that a directory is empty asks: one page, nothing requested ahead.
	dir := openDir(t, f)
	names, err := dir.Readdirnames(1)
	require.NoError(t, err)
	require.Equal(t, want[:1], names)
	require.Nil(t, dir.ahead)
	require.NoError(t, dir.Close())

	// From the second page on, the next one is on its way; Close cancels it and waits for it.
	dir = openDir(t, f)
	entries, err := dir.Readdir(4)
	require.NoError(t, err)
	require.Len(t, entries, 4)
	require.NotNil(t, dir.ahead, "the third page is requested ahead")
	require.NoError(t, dir.Close())
	require.Nil(t, dir.ahead, "Close waited for the request ahead")

	_, err = dir.Readdir(1)
	require.ErrorIs(t, err, os.ErrClosed)
}

func TestReaddirAheadFails(t *testing.T) {
	t.Parallel()

	f, gw, bucket := newTestFs(t, Options{MaxKeys: 2})

	for i := range 7 {
		_, err := gw.Client.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("d/f%d", i)), Body: strings.NewReader("x"),
		})
		require.NoError(t, err)
	}

	dir := openDir(t, f)

	defer dir.Close()

	entries, err := dir.Readdir(3)
	require.NoError(t, err)
	require.Len(t, entries, 3)

	// The bucket goes away while the third page is requested ahead (or before it is): the
	// error reaches the caller once the entries already listed are read.
	for i := range 7 {
		_, err = gw.Client.DeleteObject(context.Background(), &s3.DeleteObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("d/f%d", i)),
		})
		require.NoError(t, err)
	}

	_, err = gw.Client.DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)

	entries, err = dir.Readdir(1)
	require.NoError(t, err, "the fourth entry was listed already")
	require.Len(t, entries, 1)

	var failed error

	for range 3 {
		if _, failed = dir.Readdir(1); failed != nil {
			break
		}
	}

	require.ErrorIs(t, failed, os.ErrNotExist, "a listing of a bucket that is gone fails, and says why")
	require.NotErrorIs(t, failed, io.EOF)

	// The same page is requested again, and fails again.
	_, err = dir.Readdir(1)
	require.ErrorIs(t, err, os.ErrNotExist)
}
