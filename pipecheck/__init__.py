"""pipecheck: drive and verify the SNS -> Pipes -> bus -> rule -> SQS stack, hop by hop, against the
local cloud or real AWS."""
