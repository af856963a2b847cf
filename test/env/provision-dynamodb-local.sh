#!/usr/bin/env bash
# Provisions what LocalStack's DynamoDB provider runs, in the layout LocalStack
# expects under its library directory, so that LocalStack finds it installed
# and downloads nothing:
#
#   <lib>/java/21                    -> the machine's JDK (17 or later)
#   <lib>/dynamodb-local/2/DynamoDBLocal.jar        launcher (manifest only)
#   <lib>/dynamodb-local/2/DynamoDBLocal_lib/       DynamoDB Local and its
#                                                   dependencies, from Maven Central
#   <lib>/dynamodb-local/2/ddb-local-loader-0.1.jar a no-op Java agent
#
# LocalStack would fetch a Temurin JDK, the DynamoDB Local archive and its own
# Java agent (which only lifts the limit of 20 global secondary indexes) from
# hosts the test machines cannot reach.
#
# Usage: provision-dynamodb-local.sh <localstack-lib-dir>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

lib_dir="${1:?usage: provision-dynamodb-local.sh <localstack-lib-dir>}"
pom="$FERRY_REPO_ROOT/test/env/dynamodb-local/pom.xml"
install_dir="$lib_dir/dynamodb-local/2"
layout_version=1
stamp="$( { sha256sum "$pom" | cut -d' ' -f1; echo "layout=$layout_version"; } | sha256sum | cut -c1-16)"

if ! command -v javac >/dev/null || ! command -v jar >/dev/null; then
  apt_install openjdk-17-jdk-headless
fi
command -v mvn >/dev/null || apt_install maven

java_home="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
java_major="$("$java_home/bin/java" -XshowSettings:properties -version 2>&1 |
  awk -F' = ' '/java.specification.version/ { print $2 }')"
((java_major >= 17)) || die "DynamoDB Local needs Java 17 or later; $java_home is Java $java_major"

# LocalStack asks for Java 21 for DynamoDB Local, which itself needs 17.
mkdir -p "$lib_dir/java"
ln -sfn "$java_home" "$lib_dir/java/21"

if [[ -f "$install_dir/.ferry-stamp" && "$(cat "$install_dir/.ferry-stamp")" == "$stamp" ]]; then
  exit 0
fi

log "provisioning DynamoDB Local from Maven Central into $install_dir"
started="$(now_s)"
rm -rf "$install_dir"
mkdir -p "$install_dir/DynamoDBLocal_lib"
mvn -q -B -f "$pom" dependency:copy-dependencies \
  -DoutputDirectory="$install_dir/DynamoDBLocal_lib" >&2 ||
  die "could not resolve DynamoDB Local from Maven Central (mvn output above)"

# sqlite4java loads its native library by its plain name.
(
  cd "$install_dir/DynamoDBLocal_lib"
  for native in libsqlite4java-linux-*-[0-9]*.so; do
    ln -sf "$native" "$(printf '%s' "$native" | sed -E 's/-[0-9][0-9.]*\.so$/.so/')"
  done
)

build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT

# The launcher: LocalStack runs `java -jar DynamoDBLocal.jar`, so the class
# path lives in the manifest, folded at 72 bytes per line as the JAR spec says.
{
  echo "Manifest-Version: 1.0"
  echo "Main-Class: com.amazonaws.services.dynamodbv2.local.main.ServerRunner"
  (
    cd "$install_dir"
    printf 'Class-Path: .'
    for jar_file in DynamoDBLocal_lib/*.jar; do printf ' %s' "$jar_file"; done
    echo
  ) | awk '{ s = $0; print substr(s, 1, 72); s = substr(s, 73)
             while (length(s) > 0) { print " " substr(s, 1, 71); s = substr(s, 72) } }'
} >"$build/MANIFEST.MF"
jar --create --file "$install_dir/DynamoDBLocal.jar" --manifest "$build/MANIFEST.MF"

cat >"$build/FerryNoopAgent.java" <<'JAVA'
/** Stands in for LocalStack's DynamoDB Local agent: changes nothing. */
public final class FerryNoopAgent {
  public static void premain(String args, java.lang.instrument.Instrumentation inst) {}
}
JAVA
javac --release 17 -d "$build" "$build/FerryNoopAgent.java"
printf 'Premain-Class: FerryNoopAgent\n' >"$build/agent.mf"
jar --create --file "$install_dir/ddb-local-loader-0.1.jar" --manifest "$build/agent.mf" -C "$build" FerryNoopAgent.class

echo "$stamp" >"$install_dir/.ferry-stamp"
log "DynamoDB Local provisioned in $(elapsed_s "$started")s"
