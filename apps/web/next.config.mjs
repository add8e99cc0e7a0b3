// @ts-check

// No telemetry, even when `next` is run directly rather than through the
// workspace scripts (which set it too). The config is loaded before Next
// creates its telemetry client, so this takes effect for the whole build.
process.env.NEXT_TELEMETRY_DISABLED ??= '1';

/** @type {import('next').NextConfig} */
const nextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
