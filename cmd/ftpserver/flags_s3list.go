package main

import "flag"

// registerS3ListFlags adds the flag that lists broken uploads to -s3-bucket in directory
// listings.
func registerS3ListFlags(flags *flag.FlagSet, opts *s3Options) {
	flags.BoolVar(&opts.listIncomplete, "s3-list-incomplete", false,
		"show in directory listings (LIST, NLST, MLSD) each file of -s3-bucket that has only a "+
			"broken upload, at the size it can be resumed from, so that lftp's mirror --continue "+
			"resumes it; costs S3 one more request per listing and two per such file")
}
