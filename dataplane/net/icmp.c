/* ICMP echo: see icmp.h. */
#include <string.h>

#include <rte_icmp.h>

#include "net/csum.h"
#include "net/icmp.h"
#include "weir/stats.h"

int icmp_validate_echo(const uint8_t *msg, uint32_t len)
{
	if (len < sizeof(struct rte_icmp_hdr))
		return WEIR_CTR_drop_icmp_runt;
	if (csum_buf(msg, len) != 0)
		return WEIR_CTR_drop_icmp_bad_csum;
	if (msg[0] != RTE_IP_ICMP_ECHO_REQUEST || msg[1] != 0)
		return WEIR_CTR_drop_icmp_unhandled;
	return 0;
}

void icmp_echo_to_reply(uint8_t *msg)
{
	uint16_t old_word, new_word, check;

	/* Type and code form the first 16-bit word of the checksummed data. */
	memcpy(&old_word, msg, 2);
	msg[0] = RTE_IP_ICMP_ECHO_REPLY;
	memcpy(&new_word, msg, 2);
	memcpy(&check, msg + 2, 2);
	check = csum_update16(check, old_word, new_word);
	memcpy(msg + 2, &check, 2);
}
