package s3fs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// uploadCursor is where a listing stands in the incomplete uploads of its directory
// (Options.ListIncompleteUploads): the keys with uploads listed but not yet merged into a page
// of objects, and the key after which the next page of them starts.
type uploadCursor struct {
	held      []string
	keyMarker *string
	ended     bool
}

// mergeUploads adds to page, a page of the directory's objects and prefixes, the names with an
// incomplete upload that sort up to its last key (all of those left once it is the last page),
// in key order. A name that is also an object of the page shows the object. The uploads after
// the page's last key stay held for the next page.
func (d *dirFile) mergeUploads(page *listPage) error {
	ctx, cancel := d.fs.context()
	defer cancel()

	last, bounded := "", !page.ended
	if bounded {
		if len(page.entries) == 0 {
			return nil
		}

		last = d.entryKey(page.entries[len(page.entries)-1])
	}

	// Keys up to the page's last one may be on the next page of uploads: read on until a key
	// past it is held, or the uploads end.
	for !d.uploads.ended && (len(d.uploads.held) == 0 || !bounded || d.uploads.held[len(d.uploads.held)-1] <= last) {
		if err := d.listUploads(ctx); err != nil {
			return err
		}
	}

	count := len(d.uploads.held)
	if bounded {
		count = 0
		for count < len(d.uploads.held) && d.uploads.held[count] <= last {
			count++
		}
	}

	// Held until merged: after a failure the same page of objects is listed again.
	entries, err := d.mergeHeld(ctx, page.entries, d.uploads.held[:count])
	if err != nil {
		return err
	}

	page.entries = entries
	d.uploads.held = d.uploads.held[count:]

	return nil
}

// mergeHeld merges the keys with uploads due into entries by key, leaving out those of an
// object's key, and describes each one as Stat does: its newest upload's resumable size and
// start (a ListMultipartUploads of the key and a ListParts each).
func (d *dirFile) mergeHeld(ctx context.Context, entries []os.FileInfo, due []string) ([]os.FileInfo, error) {
	if len(due) == 0 {
		return entries, nil
	}

	merged := make([]os.FileInfo, 0, len(entries)+len(due))
	i := 0

	for _, key := range due {
		for i < len(entries) && d.entryKey(entries[i]) < key {
			merged = append(merged, entries[i])
			i++
		}

		if i < len(entries) && d.entryKey(entries[i]) == key {
			continue // the object shows, as Open reads it
		}

		rel := strings.TrimPrefix(key, d.fs.prefix)

		upload, err := d.fs.newestUpload(ctx, rel)
		if err != nil && !isNotExist(err) {
			return nil, err
		}

		if upload == nil {
			continue // completed, aborted or expired since it was listed
		}

		merged = append(merged, fileInfo{name: baseName(rel), size: upload.size, modTime: upload.initiated})
	}

	return append(merged, entries[i:]...), nil
}

// entryKey is the key an entry of the directory is listed under: a directory's ends in "/".
func (d *dirFile) entryKey(entry os.FileInfo) string {
	if entry.IsDir() {
		return d.prefix + entry.Name() + "/"
	}

	return d.prefix + entry.Name()
}

// listUploads lists the next page of the directory's incomplete uploads into d.uploads.held,
// once per key directly in the directory. The next page starts after the last key (not after
// the last upload ID, which some servers refuse as a marker with a delimiter): uploads of that
// key on the next page would only name it again.
func (d *dirFile) listUploads(ctx context.Context) error {
	cursor := &d.uploads

	out, err := d.fs.client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{
		Bucket:     aws.String(d.fs.bucket),
		Prefix:     aws.String(d.prefix),
		Delimiter:  aws.String("/"),
		KeyMarker:  cursor.keyMarker,
		MaxUploads: aws.Int32(d.fs.opts.MaxKeys),
	})
	if err != nil {
		return err //nolint:wrapcheck // the caller classifies and wraps it
	}

	var last string

	for _, upload := range out.Uploads {
		key := aws.ToString(upload.Key)
		last = max(last, key)

		name := strings.TrimPrefix(key, d.prefix)
		if name == "" || strings.Contains(name, "/") || d.fs.expired(aws.ToTime(upload.Initiated)) {
			continue
		}

		if n := len(cursor.held); n > 0 && cursor.held[n-1] >= key {
			continue
		}

		cursor.held = append(cursor.held, key)
	}

	cursor.keyMarker = nonEmpty(out.NextKeyMarker)
	if cursor.keyMarker == nil && last != "" {
		cursor.keyMarker = aws.String(last)
	}
	cursor.ended = !aws.ToBool(out.IsTruncated) || cursor.keyMarker == nil

	return nil
}

// ErrUploadIncomplete is returned by Open and OpenDownload, with Options.ListIncompleteUploads, for a
// name that listings show from its incomplete upload alone: there is nothing to read until
// the upload is resumed and completed. ftpserver answers RETR with 550 and its text, which
// gives the resumable size.
var ErrUploadIncomplete = errors.New("the upload of this file is incomplete; resume it (REST at its size, then STOR; " +
	"or APPE) to complete it")

// incompleteOpenError returns, for err of opening rel to read, ErrUploadIncomplete when err
// means no such object and the name is listed from an incomplete upload (an extra request,
// only then); else err.
func (f *Fs) incompleteOpenError(name, rel string, err error) error {
	if !f.opts.ListIncompleteUploads || !isNotExist(err) {
		return err
	}

	ctx, cancel := f.context()
	defer cancel()

	upload, uploadErr := f.newestUpload(ctx, rel)
	if uploadErr != nil || upload == nil {
		return err
	}

	cause := fmt.Errorf("%w: %d bytes so far", ErrUploadIncomplete, upload.size)

	return &fs.PathError{Op: "open", Path: name, Err: cause}
}
