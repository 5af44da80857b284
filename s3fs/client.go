package s3fs

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// DefaultRegion is the region of NewClient when ClientOptions.Region is empty; most
// S3-compatible servers accept any region, and many expect this one.
const DefaultRegion = "us-east-1"

// ClientOptions says how NewClient reaches an S3-compatible service.
type ClientOptions struct {
	// Endpoint is the service's URL, e.g. "http://127.0.0.1:7070" or "https://s3.example.com".
	// Empty: AWS S3 itself.
	Endpoint string

	// Region signs the requests; empty means DefaultRegion (unless AWS_REGION says otherwise).
	Region string

	// PathStyle addresses buckets as "endpoint/bucket/key" rather than "bucket.endpoint/key",
	// which most servers other than AWS need.
	PathStyle bool

	// Credentials signs the requests. Nil takes the SDK's default chain: the environment
	// variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), then the
	// shared files of AWS_PROFILE, then the instance's role.
	Credentials aws.CredentialsProvider
}

// NewClient returns an S3 client for opts. The SDK's environment settings apply as usual
// (AWS_REGION, AWS_REQUEST_CHECKSUM_CALCULATION=when_required for servers that refuse the
// checksums the SDK sends by default, and so on). Its HTTP client gives up on a request whose
// response headers do not come within DefaultRequestTimeout of its body's end, so that a server
// that stops answering fails the FTP command instead of hanging it. It sends no request.
func NewClient(ctx context.Context, opts ClientOptions) (*s3.Client, error) {
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(transport *http.Transport) {
		transport.ResponseHeaderTimeout = DefaultRequestTimeout
	})
	loadOptions := []func(*config.LoadOptions) error{config.WithHTTPClient(httpClient)}

	if opts.Region != "" {
		loadOptions = append(loadOptions, config.WithRegion(opts.Region))
	}

	if opts.Credentials != nil {
		loadOptions = append(loadOptions, config.WithCredentialsProvider(opts.Credentials))
	}

	cfg, err := config.LoadDefaultConfig(ctx, loadOptions...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}

	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}

	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}

		o.UsePathStyle = opts.PathStyle
	}), nil
}
