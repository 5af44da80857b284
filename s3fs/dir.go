package s3fs

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/spf13/afero"
)

// dirFile is an open directory. Readdir lists it a page at a time (ListObjectsV2 with delimiter
// "/": objects are files, common prefixes are directories). From the second page on, the next
// page is requested as soon as one arrives, so that S3 prepares it while the caller formats and
// sends the entries it has; a caller that reads one page only (a check that a directory is
// empty) sends one request. It holds at most two pages beyond what the caller asked for, so a
// directory of any size is listed in bounded memory.
type dirFile struct {
	fileBase

	prefix  string
	token   *string // continuation token of the next page
	ended   bool    // the last page was read
	pages   int     // pages read so far
	pending []os.FileInfo
	closed  bool

	ahead     chan listPage      // the next page, requested ahead; nil when none is
	stopAhead context.CancelFunc // cancels the request of ahead

	uploads uploadCursor // incomplete uploads merged in (Options.ListIncompleteUploads)
}

// listPage is one page of a listing, or the error that ended its request.
type listPage struct {
	entries []os.FileInfo
	token   *string
	ended   bool
	found   bool // the prefix has a key: the directory exists
	err     error
}

var _ afero.File = (*dirFile)(nil)

// newDirFile opens the directory rel.
func (f *Fs) newDirFile(name, rel string) *dirFile {
	return &dirFile{fileBase: fileBase{fs: f, name: name, rel: rel}, prefix: f.dirPrefix(rel)}
}

// Readdir returns the next n entries, in the byte order of their names, and io.EOF once none
// are left; with n <= 0 it returns all the remaining ones at once (as os.File.Readdir does), which
// holds them all in memory.
func (d *dirFile) Readdir(n int) ([]os.FileInfo, error) {
	if d.closed {
		return nil, d.err("readdir", os.ErrClosed)
	}

	for (n <= 0 || len(d.pending) < n) && !d.ended {
		if err := d.nextPage(); err != nil {
			return nil, err
		}
	}

	if n <= 0 {
		entries := d.pending
		d.pending = nil

		return entries, nil
	}

	if len(d.pending) == 0 {
		return nil, io.EOF
	}

	count := min(n, len(d.pending))
	entries := d.pending[:count:count]
	d.pending = d.pending[count:]

	return entries, nil
}

// Readdirnames is Readdir's names.
func (d *dirFile) Readdirnames(n int) ([]string, error) {
	entries, err := d.Readdir(n)

	names := make([]string, len(entries))
	for i, entry := range entries {
		names[i] = entry.Name()
	}

	return names, err
}

// nextPage lists the next page of the directory into pending: the one requested ahead if any,
// else one requested now. After a failed request the same page is requested again at the next
// call.
func (d *dirFile) nextPage() error {
	if d.ahead == nil {
		d.fetchAhead()
	}

	page := <-d.ahead
	d.ahead, d.stopAhead = nil, nil

	if page.err != nil {
		return pathError("readdir", d.name, page.err)
	}

	if err := d.take(page); err != nil {
		return pathError("readdir", d.name, err)
	}

	if !d.ended && d.pages >= 2 {
		d.fetchAhead()
	}

	return nil
}

// take adds page to the listing, with the incomplete uploads its keys reach under
// Options.ListIncompleteUploads. After a failure the listing is as it was, so that the same page
// can be listed again.
func (d *dirFile) take(page listPage) error {
	if d.fs.opts.ListIncompleteUploads {
		if err := d.mergeUploads(&page); err != nil {
			return err
		}
	}

	d.token, d.ended = page.token, page.ended
	d.pending = append(d.pending, page.entries...)
	d.pages++

	return nil
}

// fetchAhead requests the page after d.token in a goroutine of its own, which hands it to
// d.ahead; Close cancels the request and waits for the goroutine.
func (d *dirFile) fetchAhead() {
	ctx, cancel := d.fs.context()
	ahead := make(chan listPage, 1)
	token := d.token

	go func() {
		defer cancel()

		ahead <- d.fetchPage(ctx, token)
	}()

	d.ahead, d.stopAhead = ahead, cancel
}

// fetchPage sends the ListObjectsV2 of the page after token.
func (d *dirFile) fetchPage(ctx context.Context, token *string) listPage {
	out, err := d.fs.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket:            aws.String(d.fs.bucket),
		Prefix:            aws.String(d.prefix),
		Delimiter:         aws.String("/"),
		MaxKeys:           aws.Int32(d.fs.opts.MaxKeys),
		ContinuationToken: token,
	})
	if err != nil {
		return listPage{err: err}
	}

	next := out.NextContinuationToken

	return listPage{
		entries: mergeEntries(d.prefix, out.Contents, out.CommonPrefixes),
		token:   next,
		ended:   !aws.ToBool(out.IsTruncated) || next == nil,
		found:   len(out.Contents) > 0 || len(out.CommonPrefixes) > 0,
	}
}

// mergeEntries turns a page of a listing into entries, files and directories merged in the
// order of their keys (S3 sorts each kind, not both together). The directory's own marker
// and names that are not one path element (keys with "//") are left out.
func mergeEntries(prefix string, objects []types.Object, prefixes []types.CommonPrefix) []os.FileInfo {
	entries := make([]os.FileInfo, 0, len(objects)+len(prefixes))
	i, j := 0, 0

	for i < len(objects) || j < len(prefixes) {
		var (
			key  string
			info fileInfo
		)

		if j >= len(prefixes) || (i < len(objects) && aws.ToString(objects[i].Key) < aws.ToString(prefixes[j].Prefix)) {
			key = aws.ToString(objects[i].Key)
			info = fileInfo{size: aws.ToInt64(objects[i].Size), modTime: aws.ToTime(objects[i].LastModified)}
			i++
		} else {
			key = strings.TrimSuffix(aws.ToString(prefixes[j].Prefix), "/")
			info = fileInfo{modTime: implicitDirTime, dir: true}
			j++
		}

		info.name = strings.TrimPrefix(key, prefix)
		if info.name == "" || strings.Contains(info.name, "/") {
			continue
		}

		entries = append(entries, info)
	}

	return entries
}

// Stat describes the directory.
func (d *dirFile) Stat() (os.FileInfo, error) {
	return newDirInfo(d.rel), nil
}

// Close ends the listing.
func (d *dirFile) Close() error {
	if d.closed {
		return d.err("close", os.ErrClosed)
	}

	d.closed = true
	d.pending = nil

	if d.ahead != nil {
		d.stopAhead()
		<-d.ahead
		d.ahead, d.stopAhead = nil, nil
	}

	return nil
}
