#!/usr/bin/env bash
# Deploys seed 002's three stacks with the AWS CLI, as its infra/cloudformation/*/deploy.sh:
#   ./deploy.sh ENV REGION [RETENTION_YEARS] [BACKUP_REGION]
# firemode-worm-replica-ENV (in BACKUP_REGION), firemode-worm-storage-ENV and
# firemode-worm-monitoring-ENV (in REGION); then prints the variables seed 002's step 2 sets.
set -euo pipefail
ENV=${1:?usage: deploy.sh ENV REGION [RETENTION_YEARS] [BACKUP_REGION]}
REGION=${2:?usage: deploy.sh ENV REGION [RETENTION_YEARS] [BACKUP_REGION]}
YEARS=${3:-${WORM_RETENTION_YEARS:-7}}
BACKUP=${4:-${WORM_BACKUP_REGION:-us-west-2}}
HERE=$(cd "$(dirname "$0")" && pwd)

aws cloudformation deploy --region "$BACKUP" --stack-name "firemode-worm-replica-$ENV" \
  --template-file "$HERE/worm-replica.yaml" --parameter-overrides "Env=$ENV" "RetentionYears=$YEARS"
aws cloudformation deploy --region "$REGION" --stack-name "firemode-worm-storage-$ENV" \
  --template-file "$HERE/worm-storage.yaml" --capabilities CAPABILITY_NAMED_IAM \
  --parameter-overrides "Env=$ENV" "RetentionYears=$YEARS" "BackupRegion=$BACKUP"
aws cloudformation deploy --region "$REGION" --stack-name "firemode-worm-monitoring-$ENV" \
  --template-file "$HERE/worm-monitoring.yaml" --parameter-overrides "Env=$ENV"

output() {
  aws cloudformation describe-stacks --region "$REGION" --stack-name "$1" \
    --query "Stacks[0].Outputs[?OutputKey==\`$2\`].OutputValue" --output text
}
echo "export WORM_EVIDENCE_BUCKET=$(output "firemode-worm-storage-$ENV" EvidenceBucketName)"
echo "export WORM_REPORTS_BUCKET=$(output "firemode-worm-storage-$ENV" ReportsBucketName)"
echo "export WORM_ALERTS_TOPIC_ARN=$(output "firemode-worm-monitoring-$ENV" AlertsTopicArn)"
echo "export WORM_RETENTION_YEARS=$YEARS WORM_BACKUP_REGION=$BACKUP"
