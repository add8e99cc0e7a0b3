#!/usr/bin/env bash
# Ensures the Debian tools that lpacs tests and benchmarks shell out to.
# Fast no-op when everything is present; installs only what is missing.
set -euo pipefail

# package:probe pairs; a probe starting with / is a file that must exist,
# otherwise a command on PATH.
# python3-numpy is listed because pydicom needs it to decode pixel_array and
# is only a Recommends of python3-pydicom. python3-onnx writes the tiny
# test models (datasets/make-model.py). python3-botocore signs S3 requests
# independently of lpacs's own SigV4 code in its tests.
# python3-prometheus-client reads /metrics as a second parser of the
# exposition format in test/src/metrics.test.ts.
# libgdcm-tools brings libgdcm3.0, whose /usr/share/gdcm-3.0/XML/Part3.xml
# (PS3.3 module tables) packages/dicom/scripts/generate-iod-types.mjs --check
# regenerates the IOD types from (packages/dicom/src/__tests__/iodTypes.test.ts).
TOOLS=(
  'dcmtk:dcmdump'
  'dcmtk:dump2dcm'
  'dcmtk:storescu'
  'dcmtk:storescp'
  'dicom3tools:dciodvfy'
  'libgdcm-tools:gdcmanon'
  'libgdcm-tools:/usr/share/gdcm-3.0/XML/Part3.xml'
  'python3-pydicom:'
  'python3-numpy:'
  'python3-onnx:'
  'python3-requests:'
  'python3-botocore:'
  'python3-prometheus-client:'
  'time:/usr/bin/time'
  'openssl:openssl'
  'unzip:unzip'
  'orthanc:/usr/sbin/Orthanc'
  'orthanc-dicomweb:/usr/share/orthanc/plugins/libOrthancDicomWeb.so'
  'iproute2:ip'
  'util-linux:unshare'
  'chromium:chromium'
)

present() {
  local pkg=$1 probe=$2
  if [[ -z $probe ]]; then
    dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'
  elif [[ $probe == /* ]]; then
    [[ -e $probe ]]
  else
    command -v "$probe" >/dev/null 2>&1
  fi
}

missing=()
for entry in "${TOOLS[@]}"; do
  pkg=${entry%%:*}
  probe=${entry#*:}
  if ! present "$pkg" "$probe" && [[ " ${missing[*]} " != *" $pkg "* ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo 'install-tools: all tools present'
  exit 0
fi

if ((EUID != 0)); then
  echo "install-tools: missing Debian packages: ${missing[*]}" >&2
  echo "install-tools: run as root, or: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "install-tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The tests start their own Orthanc in a private network namespace; the
# packaged service would listen on every interface, so keep it stopped.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
  systemctl disable --now orthanc >/dev/null 2>&1 || true
fi

for entry in "${TOOLS[@]}"; do
  if ! present "${entry%%:*}" "${entry#*:}"; then
    echo "install-tools: still missing after install: ${entry}" >&2
    exit 1
  fi
done
echo 'install-tools: done'
