package s3fs

import (
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/spf13/afero"
)

// dirFile is an open directory. Readdir lists it a page at a time (ListObjectsV2 with delimiter
// "/": objects are files, common prefixes are directories) and holds at most one page beyond
// what the caller asked for, so a directory of any size is listed in bounded memory.
type dirFile struct {
	fileBase

	prefix  string
	token   *string // continuation token of the next page
	ended   bool    // the last page was read
	pending []os.FileInfo
	closed  bool
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

// nextPage lists the next page of the directory into pending.
func (d *dirFile) nextPage() error {
	ctx, cancel := d.fs.context()
	defer cancel()

	out, err := d.fs.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket:            aws.String(d.fs.bucket),
		Prefix:            aws.String(d.prefix),
		Delimiter:         aws.String("/"),
		MaxKeys:           aws.Int32(d.fs.opts.MaxKeys),
		ContinuationToken: d.token,
	})
	if err != nil {
		return pathError("readdir", d.name, err)
	}

	d.token = out.NextContinuationToken
	d.ended = !aws.ToBool(out.IsTruncated) || d.token == nil
	d.pending = append(d.pending, mergeEntries(d.prefix, out.Contents, out.CommonPrefixes)...)

	return nil
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

	return nil
}
