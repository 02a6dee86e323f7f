// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {VoucherVault} from "../../contracts/VoucherVault.sol";
import {VaultHandler} from "./VaultHandler.sol";
import {VaultTest} from "./VaultTest.sol";
import {vm} from "./Vm.sol";

/// @notice Stateful fuzzing of the VoucherVault: random sequences of {VaultHandler} actions, after
/// each of which the vault's books must hold: it holds exactly every balance plus every open
/// claim lock (tokens are conserved), a pair's `collected` never exceeds the highest cumulative
/// amount its requester signed plus what claims paid, and each provider received exactly what
/// its pairs collected (nothing paid twice, nothing paid outside the counter).
contract VoucherVaultInvariantTest is VaultTest {
    /// @dev Same layout as forge-std's StdInvariant.FuzzSelector, which the runner reads.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    VaultHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new VaultHandler(token, vault, 0x1001, 0x1002, address(0x2001), address(0x2002));
        vault.grantRole(vault.VERIFIER_ROLE(), address(handler));
        for (uint256 i = 0; i < 2; i++) {
            address r = handler.requesters(i);
            token.mint(r, FAUCET);
            vm.prank(r);
            token.approve(address(vault), type(uint256).max);
        }
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = VaultHandler.deposit.selector;
        selectors[1] = VaultHandler.assign.selector;
        selectors[2] = VaultHandler.sign.selector;
        selectors[3] = VaultHandler.redeem.selector;
        selectors[4] = VaultHandler.claim.selector;
        selectors[5] = VaultHandler.settle.selector;
        selectors[6] = VaultHandler.thaw.selector;
        selectors[7] = VaultHandler.cancelThaw.selector;
        selectors[8] = VaultHandler.withdraw.selector;
        selectors[9] = VaultHandler.warp.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: selectors});
    }

    /// @notice Conservation, the collected bound and exact provider payments, after every action.
    function invariant_vaultBooks() public view {
        uint256 held;
        for (uint256 r = 0; r < 2; r++) {
            address requester_ = handler.requesters(r);
            held += vault.channelOf(requester_, address(0)).balance;
            for (uint256 p = 0; p < 2; p++) {
                VoucherVault.Channel memory c = vault.channelOf(requester_, handler.providers(p));
                held += c.balance;
                uint256 pair = r * 2 + p;
                vm.assertLe(c.collected, handler.maxSigned(pair) + handler.claimsPaid(pair), "collected <= signed + claims");
            }
        }
        for (uint256 i = 0; i < handler.claimCount(); i++) {
            VoucherVault.Claim memory cl = vault.claimOf(handler.claimIds(i));
            if (cl.status == VoucherVault.ClaimStatus.Pending || cl.status == VoucherVault.ClaimStatus.Disputed) {
                held += cl.amount;
            }
        }
        vm.assertEq(token.balanceOf(address(vault)), held, "vault == balances + open claims");
        for (uint256 p = 0; p < 2; p++) {
            address provider_ = handler.providers(p);
            uint256 collected = vault.channelOf(handler.requesters(0), provider_).collected
                + vault.channelOf(handler.requesters(1), provider_).collected;
            vm.assertEq(token.balanceOf(provider_), collected, "provider received exactly what was collected");
        }
    }
}
